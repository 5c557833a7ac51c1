namespace Ingest.Worker.DeadLetter;

/// <summary>
/// Headers the worker adds to a dead-lettered message, beside the original key, value and headers.
/// Values are UTF-8 text, like the envelope's.
/// </summary>
public static class DeadLetterHeaders
{
    /// <summary>Why the message could not be stored (exception message, at most 1000 characters).</summary>
    public const string Error = "ingest-dlq-error";

    /// <summary>Topic the message was read from.</summary>
    public const string Topic = "ingest-dlq-topic";

    /// <summary>Partition it was read from, decimal.</summary>
    public const string Partition = "ingest-dlq-partition";

    /// <summary>Offset it was read from, decimal.</summary>
    public const string Offset = "ingest-dlq-offset";

    /// <summary>When the worker gave up on it (its last failure), Unix milliseconds (UTC), like <c>ingest-received-at</c>.</summary>
    public const string FailedAt = "ingest-dlq-failed-at";

    /// <summary>When it first failed, Unix milliseconds (UTC).</summary>
    public const string FirstFailedAt = "ingest-dlq-first-failed-at";

    /// <summary>How many times it was tried before it was dead-lettered, decimal.</summary>
    public const string Attempts = "ingest-dlq-attempts";

    /// <summary>
    /// For a chunked payload (one that failed verification, or whose chunk the database refused): the offsets of
    /// its staged chunks, comma-separated in chunk order (a reference: the chunks stay in
    /// <c>ingest.payload_chunks</c> under the payload id, kept from the abandonment sweep until a redrive).
    /// </summary>
    public const string ChunkOffsets = "ingest-dlq-chunk-offsets";

    /// <summary>True for the worker's own headers (dropped when a message is redriven).</summary>
    public static bool IsDeadLetterHeader(string name) => name.StartsWith("ingest-dlq-", StringComparison.Ordinal);
}

/// <summary>Why and when a message was given up on.</summary>
/// <param name="Error">The last error.</param>
/// <param name="Attempts">How many times it was tried.</param>
/// <param name="FirstFailedAt">Its first failure.</param>
/// <param name="LastFailedAt">Its last failure.</param>
/// <param name="ChunkOffsets">For a chunked payload: its staged chunks' offsets, see <see cref="DeadLetterHeaders.ChunkOffsets"/>.</param>
public sealed record DeadLetterReason(string Error, int Attempts, DateTimeOffset FirstFailedAt, DateTimeOffset LastFailedAt, string? ChunkOffsets = null);
