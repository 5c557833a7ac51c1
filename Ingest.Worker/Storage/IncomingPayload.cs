using Ingest.Contracts.Envelope;

namespace Ingest.Worker.Storage;

/// <summary>A decoded message ready to be written: its envelope, the encoded body and where it came from.</summary>
/// <param name="Envelope">The message's headers, validated.</param>
/// <param name="Body">The message value, PayloadCodec bytes, stored as is.</param>
/// <param name="Partition">Kafka partition it was read from.</param>
/// <param name="Offset">Kafka offset it was read from.</param>
public sealed record IncomingPayload(PayloadEnvelope Envelope, byte[] Body, int Partition, long Offset);

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
