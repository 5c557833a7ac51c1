using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Ingest.Contracts.DeadLetter;

/// <summary>
/// Headers the worker adds to a dead-lettered message, beside the original key, value and headers.
/// Values are UTF-8 text, like the envelope's. The worker writes them (<see cref="Write"/>); the ops tool lists them and
/// redrive drops them.
/// </summary>
public static class DeadLetterHeaders
{
    /// <summary>Longest <see cref="Error"/> value, in characters: a longer error is cut.</summary>
    public const int MaxErrorLength = 1000;

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

    /// <summary>
    /// On a redriven message: where it was redriven from (the letter's <c>topic [[partition]] @offset</c>). Not a
    /// dead-letter header: it stays on the message, so a letter of a letter still says where it began.
    /// </summary>
    public const string RedrivenFrom = "ingest-redriven-from";

    /// <summary>True for the worker's own headers (dropped when a message is redriven).</summary>
    public static bool IsDeadLetterHeader(string name) => name.StartsWith("ingest-dlq-", StringComparison.Ordinal);

    /// <summary>Adds the headers of a letter for the message read at <paramref name="source"/> and given up for <paramref name="reason"/>.</summary>
    public static Headers Write(Headers headers, TopicPartitionOffset source, DeadLetterReason reason)
    {
        var error = reason.Error;
        Add(headers, Error, error.Length > MaxErrorLength ? error[..MaxErrorLength] : error);
        Add(headers, Topic, source.Topic);
        Add(headers, Partition, source.Partition.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, Offset, source.Offset.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, Attempts, reason.Attempts.ToString(CultureInfo.InvariantCulture));
        Add(headers, FirstFailedAt, reason.FirstFailedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        Add(headers, FailedAt, reason.LastFailedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        if (reason.ChunkOffsets is not null)
        {
            Add(headers, ChunkOffsets, reason.ChunkOffsets);
        }

        return headers;
    }

    private static void Add(Headers headers, string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));
}

/// <summary>Why and when a message was given up on.</summary>
/// <param name="Error">The last error.</param>
/// <param name="Attempts">How many times it was tried.</param>
/// <param name="FirstFailedAt">Its first failure.</param>
/// <param name="LastFailedAt">Its last failure.</param>
/// <param name="ChunkOffsets">For a chunked payload: its staged chunks' offsets, see <see cref="DeadLetterHeaders.ChunkOffsets"/>.</param>
public sealed record DeadLetterReason(string Error, int Attempts, DateTimeOffset FirstFailedAt, DateTimeOffset LastFailedAt, string? ChunkOffsets = null);
