using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Worker.DeadLetter;
using Ingest.Worker.Storage;
using Ingest.Worker.Telemetry;

namespace Ingest.Worker.Consuming;

/// <summary>
/// Processes one lane batch: decodes each envelope, stores the valid payloads in one transaction,
/// isolates a payload the database refuses by retrying the batch one by one, and dead-letters what can
/// never be stored. Returns only when every message of the batch is stored or dead-lettered.
/// </summary>
internal sealed class BatchProcessor(
    PayloadStore store,
    DeadLetterProducer deadLetters,
    WorkerTelemetry telemetry,
    TimeProvider timeProvider,
    ILogger<BatchProcessor> logger)
{
    public async Task ProcessAsync(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var topic = batch[0].Topic;
        var payloads = new List<IncomingPayload>(batch.Count);
        var spans = new List<Activity?>(batch.Count);
        var poison = new List<(ConsumeResult<byte[]?, byte[]?> Message, Activity? Span, string Reason, string Error)>();
        foreach (var message in batch)
        {
            var span = ProcessSpans.Start(message);
            try
            {
                payloads.Add(Decode(message));
                spans.Add(span);
            }
            catch (Exception ex) when (ex is EnvelopeException or PayloadFormatException)
            {
                poison.Add((message, span, "envelope", ex.Message));
            }
        }

        if (payloads.Count > 0)
        {
            try
            {
                Record(topic, payloads, spans, await store.StoreAsync(payloads, cancellationToken));
            }
            catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && !cancellationToken.IsCancellationRequested)
            {
                await IsolateAsync(topic, batch, payloads, spans, poison, ex, cancellationToken);
            }
        }

        foreach (var (message, span, reason, error) in poison.OrderBy(p => p.Message.Offset.Value))
        {
            await deadLetters.SendAsync(message, error, cancellationToken);
            telemetry.DeadLettered(topic, reason);
            ProcessSpans.Stop(span, "dead_lettered", error);
        }

        telemetry.BatchCompleted(topic, timeProvider.GetElapsedTime(started));
    }

    private async Task IsolateAsync(
        string topic,
        IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch,
        List<IncomingPayload> payloads,
        List<Activity?> spans,
        List<(ConsumeResult<byte[]?, byte[]?>, Activity?, string, string)> poison,
        Exception batchError,
        CancellationToken cancellationToken)
    {
        if (payloads.Count == 1)
        {
            poison.Add((MessageOf(batch, payloads[0]), spans[0], "data", batchError.Message));
            return;
        }

        // One payload spoiled the whole transaction: store them one by one to find it.
        Log.IsolatingDataError(logger, topic, batch[0].Partition.Value, payloads.Count, batchError.Message);
        for (var i = 0; i < payloads.Count; i++)
        {
            try
            {
                Record(topic, [payloads[i]], [spans[i]], await store.StoreAsync([payloads[i]], cancellationToken));
            }
            catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && !cancellationToken.IsCancellationRequested)
            {
                poison.Add((MessageOf(batch, payloads[i]), spans[i], "data", ex.Message));
            }
        }
    }

    private static ConsumeResult<byte[]?, byte[]?> MessageOf(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, IncomingPayload payload) =>
        batch.First(m => m.Offset.Value == payload.Offset);

    private void Record(string topic, IReadOnlyList<IncomingPayload> payloads, IReadOnlyList<Activity?> spans, IReadOnlyList<StoreOutcome> outcomes)
    {
        var now = timeProvider.GetUtcNow();
        for (var i = 0; i < payloads.Count; i++)
        {
            var payload = payloads[i];
            var outcome = outcomes[i];
            telemetry.Stored(outcome, topic, payload.Body.Length, now - payload.Envelope.ReceivedAt);
            if (outcome == StoreOutcome.ConflictingDuplicate)
            {
                Log.ConflictingDuplicate(
                    logger, payload.Envelope.ProjectId, payload.Envelope.SessionId, payload.Envelope.Seq, payload.Envelope.PayloadId, payload.Partition, payload.Offset);
            }

            ProcessSpans.Stop(spans[i], outcome.ToString());
        }
    }

    private static IncomingPayload Decode(ConsumeResult<byte[]?, byte[]?> message)
    {
        var envelope = PayloadEnvelope.ReadFrom(message.Message.Headers);
        var body = message.Message.Value;
        if (body is null || body.Length == 0)
        {
            throw new PayloadFormatException("Message has no value.");
        }

        PayloadCodec.GetDecodedLength(body); // checks the codec header; the body is stored as is
        return new IncomingPayload(envelope, body, message.Partition.Value, message.Offset.Value);
    }
}
