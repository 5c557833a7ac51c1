using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;
using Ingest.Storage.Batches;
using Ingest.Storage.Payloads;
using Ingest.Worker.Startup;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Consuming;

/// <summary>
/// Processes one lane batch: decodes each envelope, stores the valid payloads in one transaction,
/// isolates a payload the database refuses by retrying the batch one by one, and dead-letters what can
/// never be stored. Returns only when every message of the batch is stored or dead-lettered.
/// </summary>
internal sealed class BatchProcessor(
    IBatchSink sink,
    IOptions<WorkerOptions> options,
    WorkerTelemetry telemetry,
    StartupTimeline timeline,
    TimeProvider timeProvider,
    ILogger<BatchProcessor> logger)
{
    /// <summary>Processes <paramref name="messages"/>; <paramref name="onStall"/> is called while the database keeps them waiting.</summary>
    public async Task ProcessAsync(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> messages, Action onStall, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var batch = PayloadBatch.Decode(messages, onStall);
        var count = batch.Payloads.Count;
        if (count > 0)
        {
            var failedAt = timeProvider.GetUtcNow();
            if (await TryStoreAsync(batch, 0, count, cancellationToken) is { } error)
            {
                Log.IsolatingDataError(logger, batch.Topic, batch.Partition, count, error.Message);
                await BisectAsync(batch, 0, count, new(error, failedAt), cancellationToken);
            }
        }

        foreach (var p in batch.PoisonInOffsetOrder())
        {
            await sink.DeadLetterAsync(
                p.Message, new DeadLetterReason(p.Error, p.Attempts, p.FirstFailedAt ?? timeProvider.GetUtcNow(), timeProvider.GetUtcNow(), p.ChunkOffsets),
                cancellationToken);
            telemetry.DeadLettered(batch.Topic, p.Reason);
            ProcessSpans.Stop(p.Span, "dead_lettered", p.Error);
        }

        telemetry.BatchCompleted(batch.Topic, batch.MessageCount, timeProvider.GetElapsedTime(started));
        timeline.Mark(StartupPhase.FirstBatchStored);
    }

    /// <summary>
    /// Stores the batch's payloads <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> in one
    /// transaction and records what happened to each; returns the data error (SQLSTATE 22/23) that refused them instead.
    /// </summary>
    private async Task<Exception?> TryStoreAsync(PayloadBatch batch, int start, int count, CancellationToken cancellationToken)
    {
        var part = batch.Slice(start, count);
        try
        {
            Record(batch, start, count, await sink.StoreAsync(part, AbandonBefore(part), batch.OnStall, cancellationToken));
            return null;
        }
        catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && !cancellationToken.IsCancellationRequested)
        {
            return ex;
        }
    }

    /// <summary>
    /// One payload refused by the database spoiled the transaction: store each half in its own (in offset
    /// order, so positions stay in applied order) and split the failing half again, until the culprit is
    /// alone; it is tried <see cref="WorkerOptions.PoisonAttempts"/> times in all, then dead-lettered.
    /// </summary>
    private async Task BisectAsync(PayloadBatch batch, int from, int count, DataFailure failure, CancellationToken cancellationToken)
    {
        if (count == 1)
        {
            await RetryAloneAsync(batch, from, failure, cancellationToken);
            return;
        }

        var half = count / 2;
        foreach (var (start, length) in new[] { (from, half), (from + half, count - half) })
        {
            var failedAt = timeProvider.GetUtcNow();
            if (await TryStoreAsync(batch, start, length, cancellationToken) is { } error)
            {
                await BisectAsync(batch, start, length, new(error, failedAt), cancellationToken);
            }
        }
    }

    private async Task RetryAloneAsync(PayloadBatch batch, int index, DataFailure failure, CancellationToken cancellationToken)
    {
        var error = failure.Error;
        // The failure that isolated it counts as the first attempt.
        for (var attempt = 2; attempt <= options.Value.PoisonAttempts; attempt++)
        {
            if (await TryStoreAsync(batch, index, 1, cancellationToken) is not { } again)
            {
                return;
            }

            error = again;
        }

        // A refused chunk's upload is kept for redrive before any later message of the partition is stored: a
        // later one could otherwise take the abandonment sweep past it and discard its staged chunks.
        var payload = batch.Payloads[index];
        var chunkOffsets = payload.IsWhole ? null : await sink.KeepRefusedUploadAsync(payload, error.Message, batch.OnStall, cancellationToken);
        batch.Poison(index, "data", error.Message, chunkOffsets, options.Value.PoisonAttempts, failure.FirstFailedAt);
    }

    /// <summary>Uploads whose latest chunk is this long (log time) before the batch's newest message are abandoned.</summary>
    private DateTimeOffset AbandonBefore(IReadOnlyList<IncomingPayload> payloads) =>
        payloads.Max(p => p.LogTime) - options.Value.AbandonedUploadAfter;

    private void Record(PayloadBatch batch, int start, int count, StoredBatch stored)
    {
        var topic = batch.Topic;
        var now = timeProvider.GetUtcNow();
        for (var i = 0; i < count; i++)
        {
            var payload = batch.Payloads[start + i];
            var span = batch.SpanOf(start + i);
            var (outcome, detail, chunkOffsets) = stored.Results[i];
            var e = payload.Envelope;
            switch (outcome)
            {
                case StoreOutcome.Poison:
                    Log.ChunkedPayloadRefused(logger, e.ProjectId, e.SessionId, e.Seq, e.PayloadId, payload.Partition, payload.Offset, detail!);
                    batch.Poison(start + i, "checksum", detail!, chunkOffsets);
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
            ProcessSpans.Stop(span, outcome.ToString(), outcome == StoreOutcome.DataLoss ? detail : null);
        }

        foreach (var id in stored.Abandoned)
        {
            Log.UploadAbandoned(logger, id, topic, batch.Partition, options.Value.AbandonedUploadAfter);
            telemetry.Abandoned(topic);
        }
    }

    /// <summary>The data error that refused a part of the batch, and when that part was first tried.</summary>
    private readonly record struct DataFailure(Exception Error, DateTimeOffset FirstFailedAt);
}
