using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.DeadLetter;
using Ingest.Worker.DeadLetter;
using Ingest.Worker.Startup;
using Ingest.Worker.Storage;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Consuming;

/// <summary>
/// Processes one lane batch: decodes each envelope, stores the valid payloads in one transaction,
/// isolates a payload the database refuses by retrying the batch one by one, and dead-letters what can
/// never be stored. Returns only when every message of the batch is stored or dead-lettered.
/// </summary>
internal sealed class BatchProcessor(
    PayloadStore store,
    IOptions<WorkerOptions> options,
    DeadLetterProducer deadLetters,
    WorkerTelemetry telemetry,
    StartupTimeline timeline,
    TimeProvider timeProvider,
    ILogger<BatchProcessor> logger)
{
    /// <summary>Processes <paramref name="batch"/>; <paramref name="onStall"/> is called while the database keeps it waiting.</summary>
    public async Task ProcessAsync(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, Action onStall, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var topic = batch[0].Topic;
        var payloads = new List<IncomingPayload>(batch.Count);
        var spans = new List<Activity?>(batch.Count);
        var poison = new List<Poisoned>();
        foreach (var message in batch)
        {
            var span = ProcessSpans.Start(message);
            try
            {
                payloads.Add(IncomingPayload.FromMessage(message));
                spans.Add(span);
            }
            catch (Exception ex) when (ex is EnvelopeException or PayloadFormatException)
            {
                poison.Add(new(message, span, "envelope", ex.Message));
            }
        }

        if (payloads.Count > 0)
        {
            var failedAt = timeProvider.GetUtcNow();
            try
            {
                Record(batch, payloads, spans, poison, await store.StoreAsync(payloads, AbandonBefore(payloads), onStall, cancellationToken));
            }
            catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && !cancellationToken.IsCancellationRequested)
            {
                Log.IsolatingDataError(logger, topic, batch[0].Partition.Value, payloads.Count, ex.Message);
                await BisectAsync(batch, payloads, spans, 0, payloads.Count, poison, onStall, ex, failedAt, cancellationToken);
            }
        }

        foreach (var p in poison.OrderBy(p => p.Message.Offset.Value))
        {
            await deadLetters.SendAsync(
                p.Message, new DeadLetterReason(p.Error, p.Attempts, p.FirstFailedAt ?? timeProvider.GetUtcNow(), timeProvider.GetUtcNow(), p.ChunkOffsets),
                cancellationToken);
            telemetry.DeadLettered(topic, p.Reason);
            ProcessSpans.Stop(p.Span, "dead_lettered", p.Error);
        }

        telemetry.BatchCompleted(topic, batch.Count, timeProvider.GetElapsedTime(started));
        timeline.Mark(StartupPhase.FirstBatchStored);
    }

    /// <summary>
    /// One payload refused by the database spoiled the transaction: store each half in its own (in offset
    /// order, so positions stay in applied order) and split the failing half again, until the culprit is
    /// alone; it is tried <see cref="WorkerOptions.PoisonAttempts"/> times in all, then dead-lettered.
    /// </summary>
    private async Task BisectAsync(
        IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch,
        List<IncomingPayload> payloads,
        List<Activity?> spans,
        int from,
        int count,
        List<Poisoned> poison,
        Action onStall,
        Exception error,
        DateTimeOffset firstFailedAt,
        CancellationToken cancellationToken)
    {
        if (count == 1)
        {
            await RetryAloneAsync(batch, payloads[from], spans[from], poison, onStall, error, firstFailedAt, cancellationToken);
            return;
        }

        var half = count / 2;
        foreach (var (start, length) in new[] { (from, half), (from + half, count - half) })
        {
            var part = payloads.GetRange(start, length);
            var failedAt = timeProvider.GetUtcNow();
            try
            {
                Record(batch, part, spans.GetRange(start, length), poison, await store.StoreAsync(part, AbandonBefore(part), onStall, cancellationToken));
            }
            catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && !cancellationToken.IsCancellationRequested)
            {
                await BisectAsync(batch, payloads, spans, start, length, poison, onStall, ex, failedAt, cancellationToken);
            }
        }
    }

    private async Task RetryAloneAsync(
        IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch,
        IncomingPayload payload,
        Activity? span,
        List<Poisoned> poison,
        Action onStall,
        Exception error,
        DateTimeOffset firstFailedAt,
        CancellationToken cancellationToken)
    {
        // The failure that isolated it counts as the first attempt.
        for (var attempt = 2; attempt <= options.Value.PoisonAttempts; attempt++)
        {
            try
            {
                Record(batch, [payload], [span], poison, await store.StoreAsync([payload], AbandonBefore([payload]), onStall, cancellationToken));
                return;
            }
            catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && !cancellationToken.IsCancellationRequested)
            {
                error = ex;
            }
        }

        // A refused chunk's upload is kept for redrive before any later message of the partition is stored: a
        // later one could otherwise take the abandonment sweep past it and discard its staged chunks.
        var chunkOffsets = payload.IsWhole ? null : await store.KeepRefusedUploadAsync(payload, error.Message, onStall, cancellationToken);
        poison.Add(new(MessageOf(batch, payload), span, "data", error.Message, chunkOffsets, options.Value.PoisonAttempts, firstFailedAt));
    }

    private static ConsumeResult<byte[]?, byte[]?> MessageOf(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, IncomingPayload payload) =>
        batch.First(m => m.Offset.Value == payload.Offset);

    /// <summary>Uploads whose latest chunk is this long (log time) before the batch's newest message are abandoned.</summary>
    private DateTimeOffset AbandonBefore(IReadOnlyList<IncomingPayload> payloads) =>
        payloads.Max(p => p.LogTime) - options.Value.AbandonedUploadAfter;

    private void Record(
        IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, IReadOnlyList<IncomingPayload> payloads, IReadOnlyList<Activity?> spans,
        List<Poisoned> poison, StoredBatch stored)
    {
        var topic = batch[0].Topic;
        var now = timeProvider.GetUtcNow();
        for (var i = 0; i < payloads.Count; i++)
        {
            var payload = payloads[i];
            var (outcome, detail, chunkOffsets) = stored.Results[i];
            var e = payload.Envelope;
            switch (outcome)
            {
                case StoreOutcome.Poison:
                    Log.ChunkedPayloadRefused(logger, e.ProjectId, e.SessionId, e.Seq, e.PayloadId, payload.Partition, payload.Offset, detail!);
                    poison.Add(new(MessageOf(batch, payload), spans[i], "checksum", detail!, chunkOffsets));
                    continue;
                case StoreOutcome.DataLoss:
                    Log.ChunkGap(logger, e.ProjectId, e.SessionId, e.Seq, e.PayloadId, payload.Partition, payload.Offset, detail!);
                    telemetry.DataLoss(topic, "missing_chunk");
                    break;
                case StoreOutcome.ConflictingDuplicate:
                    Log.ConflictingDuplicate(logger, e.ProjectId, e.SessionId, e.Seq, e.PayloadId, payload.Partition, payload.Offset);
                    break;
                case StoreOutcome.Aborted:
                    Log.UploadAborted(logger, e.ProjectId, e.SessionId, e.Seq, e.PayloadId, payload.Partition, payload.Offset, detail!);
                    break;
            }

            telemetry.Stored(outcome, topic, payload.Body.Length, now - e.ReceivedAt);
            ProcessSpans.Stop(spans[i], outcome.ToString(), outcome == StoreOutcome.DataLoss ? detail : null);
        }

        foreach (var id in stored.Abandoned)
        {
            Log.UploadAbandoned(logger, id, topic, batch[0].Partition.Value, options.Value.AbandonedUploadAfter);
            telemetry.Abandoned(topic);
        }
    }

    private sealed record Poisoned(
        ConsumeResult<byte[]?, byte[]?> Message,
        Activity? Span,
        string Reason,
        string Error,
        string? ChunkOffsets = null,
        int Attempts = 1,
        DateTimeOffset? FirstFailedAt = null);
}
