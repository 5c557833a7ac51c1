using System.Globalization;
using Confluent.Kafka;

namespace Ingest.Ops;

/// <summary>
/// <c>lag --group</c>: per partition, the group's committed offset, the log end and the lag, with an
/// end-to-end latency estimate — the age of the oldest message the group has not yet committed.
/// </summary>
public static class LagCommand
{
    public static Task<int> RunAsync(OpsContext context, string group, CancellationToken cancellationToken)
    {
        using var admin = context.Admin();
        var topic = admin.GetMetadata(context.Topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == context.Topic);
        if (topic is null || topic.Error.IsError)
        {
            throw new OpsException($"topic {context.Topic} not found");
        }

        var partitions = topic.Partitions.Select(p => new TopicPartition(context.Topic, p.PartitionId)).OrderBy(p => p.Partition.Value).ToList();
        using var groupView = context.Reader(group); // OffsetFetch only: never subscribes, so it does not join the group
        var committed = groupView.Committed(partitions, TimeSpan.FromSeconds(10)).ToDictionary(c => c.Partition.Value, c => c.Offset);
        using var reader = context.Reader();
        var now = DateTimeOffset.UtcNow;
        var rows = new List<LagRow>();
        foreach (var partition in partitions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var marks = reader.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10));
            var position = committed.TryGetValue(partition.Partition.Value, out var c) && c != Offset.Unset ? c.Value : marks.Low.Value;
            var lag = Math.Max(0, marks.High.Value - position);
            double? ageSeconds = lag > 0 ? OldestAge(reader, new TopicPartitionOffset(partition, position), now) : 0;
            rows.Add(new LagRow(partition.Partition.Value, committed.TryGetValue(partition.Partition.Value, out var cc) && cc != Offset.Unset ? cc.Value : null,
                marks.Low.Value, marks.High.Value, lag, ageSeconds));
        }

        var total = rows.Sum(r => r.Lag);
        var worst = rows.Max(r => r.OldestUnprocessedAgeSeconds ?? 0);
        context.Print(new { group, topic = context.Topic, totalLag = total, latencyEstimateSeconds = worst, partitions = rows }, w =>
        {
            w.WriteLine($"group {group} on {context.Topic}");
            w.WriteLine("  partition   committed         end         lag   oldest unprocessed");
            foreach (var r in rows)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {r.Partition,9} {(r.Committed?.ToString(CultureInfo.InvariantCulture) ?? "-"),11} {r.End,11} {r.Lag,11}   {(r.OldestUnprocessedAgeSeconds is { } a ? $"{a:0.0} s" : "?")}"));
            }

            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total lag {total}; end-to-end latency estimate {worst:0.0} s"));
        });
        return Task.FromResult(0);
    }

    private static double? OldestAge(IConsumer<byte[], byte[]> reader, TopicPartitionOffset at, DateTimeOffset now)
    {
        reader.Assign(at);
        try
        {
            var result = reader.Consume(TimeSpan.FromSeconds(5));
            return result is { IsPartitionEOF: false, Message: { } m } ? Math.Max(0, (now - m.Timestamp.UtcDateTime).TotalSeconds) : null;
        }
        finally
        {
            reader.Unassign();
        }
    }

    public sealed record LagRow(int Partition, long? Committed, long Start, long End, long Lag, double? OldestUnprocessedAgeSeconds);
}
