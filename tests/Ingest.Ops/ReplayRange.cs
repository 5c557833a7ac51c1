using Confluent.Kafka;
using Ingest.Storage.Replay;
using Npgsql;

namespace Ingest.Ops;

/// <summary>One partition's slice to replay: offsets [<see cref="Start"/>, <see cref="End"/>) and how each bound was found.</summary>
public sealed record PartitionRange(int Partition, long Start, long End, string StartMethod, string EndMethod, long LogEnd)
{
    public long Read { get; set; }
}

/// <summary>
/// Finds the offsets of a time range. The broker's ListOffsets-by-time (<c>OffsetsForTimes</c>) first; where it
/// cannot answer (librdkafka's mock cluster answers "no such offset" for every time), what the store recorded:
/// each stored payload's partition, offset and received-at time. The end is never past what the workers' group
/// has committed: beyond it the workers apply the messages themselves, and a replay racing them over an upload's
/// chunks would only cost redeliveries.
/// </summary>
public static class ReplayRange
{
    /// <summary>
    /// Received-at order and log order may differ by as long as a request waited for the broker (the API's timeouts
    /// are well under a minute): bounds taken from the store are widened by this. Starting early costs only no-ops.
    /// </summary>
    public static readonly TimeSpan StoreMargin = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task<List<PartitionRange>> ResolveAsync(
        IConsumer<byte[]?, byte[]?> reader, IConsumer<byte[]?, byte[]?> group, NpgsqlDataSource store, string topic,
        IReadOnlyList<int> partitions, DateTimeOffset from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        var tps = partitions.Select(p => new TopicPartition(topic, p)).ToList();
        var committed = group.Committed(tps, Timeout).ToDictionary(c => c.Partition.Value, c => c.Offset);
        var starts = ByTime(reader, tps, from);
        var ends = to is { } t ? ByTime(reader, tps, t) : null;
        var ranges = new List<PartitionRange>();
        foreach (var tp in tps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var p = tp.Partition.Value;
            var marks = reader.QueryWatermarkOffsets(tp, Timeout);
            var (low, high) = (marks.Low.Value, marks.High.Value);

            var (start, startMethod) = starts.TryGetValue(p, out var s) ? (s, "offsets-for-times") : (-1L, "");
            if (start < 0)
            {
                var before = await ReplayQueries.LastOffsetReceivedBeforeAsync(store, p, from - StoreMargin, cancellationToken);
                (start, startMethod) = before is { } b
                    ? (b + 1, "store")
                    : (low, "log start (the broker cannot look up by time and the store holds nothing received before --from)");
            }

            var (end, endMethod) = (high, "log end");
            if (ends is not null && ends.TryGetValue(p, out var e) && e < end)
            {
                (end, endMethod) = (e, "offsets-for-times");
            }
            else if (ends is not null && !ends.ContainsKey(p))
            {
                var after = await ReplayQueries.FirstOffsetReceivedAfterAsync(store, p, to!.Value + StoreMargin, cancellationToken);
                (end, endMethod) = after is { } a && a < end
                    ? (a, "store")
                    : (end, "log end (the broker cannot look up --to by time and the store holds nothing received after it)");
            }

            var worker = committed.TryGetValue(p, out var c) && c != Offset.Unset ? c.Value : (long?)null;
            if (worker is null)
            {
                (end, endMethod) = (Math.Min(end, start), "the workers' group has committed nothing here: it applies this partition itself");
            }
            else if (worker < end)
            {
                (end, endMethod) = (worker.Value, "the workers' committed offset (they apply what follows)");
            }

            start = Math.Max(start, low);
            ranges.Add(new PartitionRange(p, start, Math.Max(start, end), startMethod, endMethod, high));
        }

        return ranges;
    }

    /// <summary>
    /// The first offset at or after <paramref name="time"/> per partition, where the broker could say; a partition is
    /// missing from the result when it could not (no answer, or an answer its own log contradicts).
    /// </summary>
    private static Dictionary<int, long> ByTime(IConsumer<byte[]?, byte[]?> reader, List<TopicPartition> partitions, DateTimeOffset time)
    {
        List<TopicPartitionOffset> found;
        try
        {
            found = reader.OffsetsForTimes(partitions.Select(p => new TopicPartitionTimestamp(p, new Timestamp(time.UtcDateTime, TimestampType.CreateTime))), Timeout);
        }
        catch (KafkaException)
        {
            return [];
        }

        var result = new Dictionary<int, long>();
        foreach (var f in found)
        {
            if (f.Offset.Value >= 0)
            {
                result[f.Partition.Value] = f.Offset.Value;
            }
            else if (f.Offset == Offset.End && LastTimestamp(reader, f.TopicPartition) is { } last && last < time)
            {
                // "No message at or after the time", and the log agrees: its last message is older.
                result[f.Partition.Value] = reader.QueryWatermarkOffsets(f.TopicPartition, Timeout).High.Value;
            }
        }

        return result;
    }

    /// <summary>The log time of the partition's last message; null when it is empty or cannot be read.</summary>
    private static DateTimeOffset? LastTimestamp(IConsumer<byte[]?, byte[]?> reader, TopicPartition partition)
    {
        var marks = reader.QueryWatermarkOffsets(partition, Timeout);
        if (marks.High.Value <= marks.Low.Value)
        {
            return DateTimeOffset.MinValue; // empty: nothing at or after any time
        }

        reader.Assign(new TopicPartitionOffset(partition, marks.High.Value - 1));
        try
        {
            return reader.Consume(Timeout) is { IsPartitionEOF: false, Message: { } m }
                ? new DateTimeOffset(m.Timestamp.UtcDateTime, TimeSpan.Zero)
                : null;
        }
        finally
        {
            reader.Unassign();
        }
    }
}
