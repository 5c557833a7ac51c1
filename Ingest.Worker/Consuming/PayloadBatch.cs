using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Payloads;
using Ingest.Worker.Telemetry;

namespace Ingest.Worker.Consuming;

/// <summary>
/// One lane batch on its way through <see cref="BatchProcessor"/>: the partition's messages in offset order, the
/// payloads decoded from them with their spans, and what is to be dead-lettered. It is the one thing that travels
/// through the poison isolation, whose steps name a range of its payloads instead of passing each collection along.
/// </summary>
internal sealed class PayloadBatch
{
    private readonly IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> _messages;
    private readonly List<IncomingPayload> _payloads;
    private readonly List<Activity?> _spans;
    private readonly List<Poisoned> _poison = [];

    private PayloadBatch(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> messages, Action onStall)
    {
        _messages = messages;
        _payloads = new(messages.Count);
        _spans = new(messages.Count);
        OnStall = onStall;
    }

    /// <summary>The topic the batch was read from.</summary>
    public string Topic => _messages[0].Topic;

    /// <summary>The partition the batch was read from.</summary>
    public int Partition => _messages[0].Partition.Value;

    /// <summary>How many messages the batch holds (payloads and poison alike).</summary>
    public int MessageCount => _messages.Count;

    /// <summary>The payloads decoded from the batch's messages, in offset order.</summary>
    public IReadOnlyList<IncomingPayload> Payloads => _payloads;

    /// <summary>Called while the database keeps the batch waiting (a transient error is being retried).</summary>
    public Action OnStall { get; }

    /// <summary>
    /// Decodes each of <paramref name="messages"/> (one partition's, in offset order), starting its span; a message
    /// that is not a valid payload message is marked for the dead-letter topic at once (reason <c>envelope</c>).
    /// </summary>
    public static PayloadBatch Decode(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> messages, Action onStall)
    {
        var batch = new PayloadBatch(messages, onStall);
        foreach (var message in messages)
        {
            var span = ProcessSpans.Start(message);
            try
            {
                batch._payloads.Add(IncomingPayload.FromMessage(message));
                batch._spans.Add(span);
            }
            catch (Exception ex) when (ex is EnvelopeException or PayloadFormatException)
            {
                batch._poison.Add(new(message, span, "envelope", ex.Message));
            }
        }

        return batch;
    }

    /// <summary>The payloads <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> (exclusive).</summary>
    public IReadOnlyList<IncomingPayload> Slice(int start, int count) =>
        start == 0 && count == _payloads.Count ? _payloads : _payloads.GetRange(start, count);

    /// <summary>The span of the payload at <paramref name="index"/>.</summary>
    public Activity? SpanOf(int index) => _spans[index];

    /// <summary>Marks the payload at <paramref name="index"/> for the dead-letter topic.</summary>
    public void Poison(
        int index, string reason, string error, string? chunkOffsets = null, int attempts = 1, DateTimeOffset? firstFailedAt = null) =>
        _poison.Add(new(MessageOf(_payloads[index]), _spans[index], reason, error, chunkOffsets, attempts, firstFailedAt));

    /// <summary>What is to be dead-lettered, in offset order.</summary>
    public IEnumerable<Poisoned> PoisonInOffsetOrder() => _poison.OrderBy(p => p.Message.Offset.Value);

    private ConsumeResult<byte[]?, byte[]?> MessageOf(IncomingPayload payload) => _messages.First(m => m.Offset.Value == payload.Offset);

    /// <summary>A message that can never be stored, with why and (for a data error) how often it was tried since when.</summary>
    public sealed record Poisoned(
        ConsumeResult<byte[]?, byte[]?> Message,
        Activity? Span,
        string Reason,
        string Error,
        string? ChunkOffsets = null,
        int Attempts = 1,
        DateTimeOffset? FirstFailedAt = null);
}
