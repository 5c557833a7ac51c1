using Confluent.Kafka;
using Ingest.Api.Kafka;
using Ingest.Api.Telemetry;
using Ingest.Contracts;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Status;

/// <summary>One partition of the payload topic as the worker group sees it.</summary>
public sealed record PartitionStatus(int Partition, long End, long? Committed, long Lag);

/// <summary>What the status page shows: per-partition lag, totals the page turns into rates, DLQ depth.</summary>
public sealed record StatusSnapshot(
    DateTimeOffset At, string Topic, string Group, long AcceptedByThisApi, long Produced, long Committed, long TotalLag,
    long DeadLetters, IReadOnlyList<PartitionStatus> Partitions);

/// <summary>
/// Reads the worker group's committed offsets and the topics' watermarks through a consumer that never
/// subscribes (OffsetFetch and ListOffsets only: it does not join the group), cached for a second.
/// </summary>
public sealed class PipelineStatus(
    IOptions<KafkaSettings> kafka, IOptions<IngestOptions> ingest, IOptions<ApiOptions> api, ApiMetrics metrics, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private IConsumer<byte[], byte[]>? _observer;
    private IConsumer<byte[], byte[]>? _groupView;
    private (long At, StatusSnapshot Snapshot)? _last;

    public StatusSnapshot Read()
    {
        lock (_gate)
        {
            if (_last is { } last && time.GetElapsedTime(last.At) < CacheFor)
            {
                return last.Snapshot;
            }

            var snapshot = Probe();
            _last = (time.GetTimestamp(), snapshot);
            return snapshot;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _observer?.Dispose();
            _groupView?.Dispose();
        }
    }

    private StatusSnapshot Probe()
    {
        var topic = ingest.Value.Topic;
        var group = api.Value.WorkerGroupId;
        _observer ??= Consumer($"ingest-api-status-{Guid.NewGuid():N}");
        _groupView ??= Consumer(group);
        var partitions = Partitions(topic);
        var committed = _groupView.Committed(partitions, Timeout).ToDictionary(c => c.Partition.Value, c => c.Offset);
        var rows = partitions.Select(p =>
        {
            var marks = _observer.QueryWatermarkOffsets(p, Timeout);
            long? done = committed.TryGetValue(p.Partition.Value, out var c) && c != Offset.Unset ? c.Value : null;
            return new PartitionStatus(p.Partition.Value, marks.High.Value, done, Math.Max(0, marks.High.Value - (done ?? marks.Low.Value)));
        }).ToList();
        var deadLetters = Partitions(IngestTopics.DeadLetterFor(topic))
            .Select(p => _observer.QueryWatermarkOffsets(p, Timeout))
            .Sum(w => w.High.Value - w.Low.Value);
        return new StatusSnapshot(
            time.GetUtcNow(), topic, group, metrics.AcceptedTotal, rows.Sum(r => r.End), rows.Sum(r => r.Committed ?? 0),
            rows.Sum(r => r.Lag), deadLetters, rows);
    }

    private List<TopicPartition> Partitions(string topic)
    {
        using var admin = new DependentAdminClientBuilder(_observer!.Handle).Build();
        var metadata = admin.GetMetadata(topic, Timeout).Topics.SingleOrDefault(t => t.Topic == topic);
        return metadata is null || metadata.Error.IsError
            ? []
            : metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value).ToList();
    }

    private IConsumer<byte[], byte[]> Consumer(string groupId)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(kafka.Value.Client, StringComparer.Ordinal))
        {
            GroupId = groupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        };
        // The API's producer tuning (queue.buffering.*, linger.ms, …) means nothing to a consumer; keep its warnings out of the log.
        return new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
    }
}
