using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Storage.Payloads;

/// <summary>A decoded message ready to be written: its envelope, the encoded body and where it came from.</summary>
/// <param name="Envelope">The message's headers, validated.</param>
/// <param name="Body">The message value, PayloadCodec bytes, stored as is.</param>
/// <param name="Partition">Kafka partition it was read from.</param>
/// <param name="Offset">Kafka offset it was read from.</param>
/// <param name="Topic">Kafka topic it was read from.</param>
/// <param name="LogTime">The message's log timestamp: the clock by which abandoned uploads are discarded.</param>
public sealed record IncomingPayload(PayloadEnvelope Envelope, byte[] Body, int Partition, long Offset, string Topic, DateTimeOffset LogTime)
{
    /// <summary>True for a payload sent as one message (chunk 0 and last): stored directly as a row.</summary>
    public bool IsWhole => Envelope.ChunkIndex == 0 && Envelope.IsLastChunk;

    /// <summary>Reads a payload message as the worker applies it (the worker's lanes and <c>ingest-ops replay</c> alike).</summary>
    /// <exception cref="EnvelopeException">The headers are not a valid envelope.</exception>
    /// <exception cref="PayloadFormatException">The value is missing or not a PayloadCodec block.</exception>
    public static IncomingPayload FromMessage(ConsumeResult<byte[]?, byte[]?> message)
    {
        var envelope = PayloadEnvelope.ReadFrom(message.Message.Headers);
        var body = message.Message.Value;
        if (body is null || body.Length == 0)
        {
            throw new PayloadFormatException("Message has no value.");
        }

        PayloadCodec.GetDecodedLength(body); // checks the codec header; the body is stored as is
        // CreateTime as the API's producer set it; without one, the API's receipt time stands in.
        var logTime = message.Message.Timestamp.Type == TimestampType.NotAvailable
            ? envelope.ReceivedAt
            : new DateTimeOffset(message.Message.Timestamp.UtcDateTime, TimeSpan.Zero);
        return new IncomingPayload(envelope, body, message.Partition.Value, message.Offset.Value, message.Topic, logTime);
    }
}

/// <summary>What happened to one message of a stored batch, with a detail for poison and data loss.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="Detail">Why (poison, data loss), or null.</param>
/// <param name="ChunkOffsets">For a chunked payload refused at verification: its staged chunks' offsets (the DLQ reference).</param>
public readonly record struct StoreResult(StoreOutcome Outcome, string? Detail = null, string? ChunkOffsets = null);

/// <summary>What happened to one payload of a stored batch.</summary>
public enum StoreOutcome
{
    /// <summary>A new row.</summary>
    Stored,

    /// <summary>The same upload again (same payload id): a Kafka redelivery or a producer retry.</summary>
    Redelivery,

    /// <summary>A new upload of the same bytes (same checksum): the client retried.</summary>
    ClientRetry,

    /// <summary>Different bytes under a stored (session, seq): the first one stays; counted and logged.</summary>
    ConflictingDuplicate,

    /// <summary>A chunk of a larger payload, staged; the payload is stored when its last chunk is.</summary>
    ChunkStaged,

    /// <summary>A chunk already staged (or of a payload already stored or dead-lettered): a redelivery.</summary>
    ChunkRedelivery,

    /// <summary>A chunk that cannot continue its payload (an earlier chunk is missing): data loss, logged and counted.</summary>
    DataLoss,

    /// <summary>Refused for good (running length or checksum mismatch): the caller dead-letters it.</summary>
    Poison,

    /// <summary>An abort marker: the API gave the upload up, and its staged chunks were dropped.</summary>
    Aborted,

    /// <summary>An abort marker with nothing to drop: its upload is stored, dead-lettered, already aborted or discarded, or unknown.</summary>
    AbortIgnored,

    /// <summary>Received longer ago than its project's retention: not stored (a backlog older than the retention).</summary>
    Expired,

    /// <summary>Of a session or project erased before it came: not stored.</summary>
    Erased,
}

/// <summary>Tells duplicates apart by what is already stored.</summary>
public static class Duplicates
{
    /// <summary>The kind of duplicate <paramref name="incoming"/> is, given the stored row's id and checksum.</summary>
    public static StoreOutcome Classify(Guid storedPayloadId, long storedChecksum, PayloadEnvelope incoming)
    {
        if (storedPayloadId == incoming.PayloadId)
        {
            return StoreOutcome.Redelivery;
        }

        return storedChecksum == unchecked((long)incoming.Checksum)
            ? StoreOutcome.ClientRetry
            : StoreOutcome.ConflictingDuplicate;
    }
}
