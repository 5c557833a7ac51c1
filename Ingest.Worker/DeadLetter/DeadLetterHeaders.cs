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

    /// <summary>When the worker gave up on it, Unix milliseconds (UTC), like <c>ingest-received-at</c>.</summary>
    public const string FailedAt = "ingest-dlq-failed-at";

    /// <summary>
    /// For a chunked payload that failed verification: the offsets of its staged chunks, comma-separated in
    /// chunk order (a reference: the chunks stay in <c>ingest.payload_chunks</c> under the payload id).
    /// </summary>
    public const string ChunkOffsets = "ingest-dlq-chunk-offsets";
}
