using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Api.Auth;
using Ingest.Api.Kafka;
using Ingest.Api.Payloads;
using Ingest.Hosting.Kafka;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Backpressure;

/// <summary>
/// Feeds <see cref="BacklogGuard"/>: the payload topic's partition count and retention (every minute; every 2 s while
/// the topic does not exist), and — while the guard is on — the worker group's committed offsets and the log ends,
/// every <c>Api:BacklogRefreshInterval</c>, or every 100 ms while an upload waits for room or a partition is more than
/// half full. Requests never wait for it: they read its last view.
/// </summary>
public sealed class BacklogMonitor(
    BacklogGuard guard,
    IOptions<KafkaSettings> kafka,
    IOptions<IngestOptions> ingest,
    IOptions<ApiOptions> api,
    TimeProvider time,
    ILogger<BacklogMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TopicEvery = TimeSpan.FromMinutes(1);

    /// <summary>Next look while the topic is missing or what it keeps could not be read (a broker slow to answer at start).</summary>
    private static readonly TimeSpan SoonAgain = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Busy = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest the API's start waits for the first look (a broker that does not answer must not keep it down).</summary>
    private static readonly TimeSpan FirstLookTimeout = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _firstLook = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A partition nearly full this long is logged: a large upload on the embedded broker fills one for a moment as a matter of course.</summary>
    private static readonly TimeSpan FullFor = TimeSpan.FromSeconds(5);

    private readonly Dictionary<int, long> _fullSince = [];
    private readonly HashSet<int> _reported = [];
    private List<TopicPartition> _partitions = [];
    private long? _lookedAt;
    private TimeSpan _lookAgain = TimeSpan.Zero;
    private string? _failing;

    /// <summary>
    /// Hosted services start before Kestrel listens: waiting here for the first look means the first request already
    /// finds the guard on where the topic needs it, instead of a burst slipping through before it knew.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await Task.WhenAny(_firstLook.Task, Task.Delay(FirstLookTimeout, time, cancellationToken));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Committed() blocks its thread for a request's round trip: a thread of its own, not the request pool's.
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken ct)
    {
        var topic = ingest.Value.Topic;
        using var admin = RetentionLimits.CreateAdmin(kafka.Value, "ingest-api-backlog");
        using var group = GroupView();
        while (!ct.IsCancellationRequested)
        {
            var interval = api.Value.BacklogRefreshInterval;
            var nudged = guard.Nudged;
            try
            {
                if (_lookedAt is not { } at || time.GetElapsedTime(at) >= _lookAgain)
                {
                    await LookAtTopicAsync(admin, topic);
                }

                if (guard.Limit is { } limit && _partitions.Count > 0)
                {
                    await ObserveAsync(admin, group, limit);
                    if (guard.AnyWaiting || guard.Views().Any(v => v.Bytes * 2 > limit.Bytes || v.Messages * 2 > limit.Messages))
                    {
                        interval = Busy;
                    }
                }

                if (_failing is not null)
                {
                    Log.ProgressReadable(logger, topic);
                    _failing = null;
                }

                _firstLook.TrySetResult(); // the API may take requests: the guard knows what it needs
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Never down for this: the guard keeps its last view (stale committed offsets only err towards refusing).
                var reason = ex is KafkaException kafkaError ? kafkaError.Error.Reason : ex.Message;
                if (_failing != reason)
                {
                    Log.ProgressUnreadable(logger, topic, reason);
                    _failing = reason;
                }
            }

            await Task.WhenAny(Task.Delay(interval, time, ct), nudged);
        }
    }

    private async Task LookAtTopicAsync(IAdminClient admin, string topic)
    {
        var options = api.Value;
        _lookedAt = time.GetTimestamp();
        _lookAgain = SoonAgain; // until this look succeeds
        // All topics: asking for one by name would let a broker with auto-creation create it with its defaults.
        var metadata = await Task.Run(() => admin.GetMetadata(RequestTimeout));
        var described = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (described is null || described.Error.IsError || described.Partitions.Count == 0)
        {
            _partitions = [];
            return;
        }

        var retention = options.RetainedBytesPerPartition is { } configured
            ? new RetentionLimits(configured, null, $"{ApiOptions.Section}:RetainedBytesPerPartition={configured}")
            : await RetentionLimits.ReadAsync(admin, topic, metadata, RequestTimeout);
        var previous = guard.Limit;
        var unknownMessageBytes = PayloadProducer.ChunkMessageOverhead + options.ChunkBytes;
        // Not knowing what the topic keeps, assume as little as the embedded broker keeps (or keep the limit in force):
        // refusing early beats accepting what the broker may delete unread. Asked again in 2 s.
        var limit = retention.Known
            ? retention.ToLimit(options.BacklogShare, unknownMessageBytes)
            : previous ?? RetentionLimits.EmbeddedBroker.ToLimit(options.BacklogShare, unknownMessageBytes);
        _partitions = [.. described.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value)];
        var changed = limit != previous || guard.Ledgers.Count != _partitions.Count;
        guard.Configure(_partitions.Count, limit, retention.Source);
        if (!retention.Known)
        {
            Log.RetentionUnknown(logger, topic, retention.Source, limit!.Bytes);
            return;
        }

        _lookAgain = TopicEvery;
        if (changed && limit is not null)
        {
            Log.GuardOn(logger, topic, limit.Bytes, limit.Messages, options.BacklogShare, retention.Source, _partitions.Count, options.WorkerGroupId);
        }
        else if (changed)
        {
            Log.GuardOff(logger, topic, retention.Source);
        }
    }

    private async Task ObserveAsync(IAdminClient admin, IConsumer<byte[], byte[]> group, BacklogLimit limit)
    {
        var committed = group.Committed(_partitions, RequestTimeout).ToDictionary(c => c.Partition.Value, c => c.Offset);
        var ends = await ListOffsetsAsync(admin, _partitions, OffsetSpec.Latest());
        // Where the group has committed nothing, the workers will start from the log start (auto.offset.reset=earliest).
        var uncommitted = _partitions.Where(p => !committed.TryGetValue(p.Partition.Value, out var c) || c.Value < 0).ToList();
        var starts = uncommitted.Count == 0 ? [] : await ListOffsetsAsync(admin, uncommitted, OffsetSpec.Earliest());
        var ledgers = guard.Ledgers;
        foreach (var partition in _partitions)
        {
            var p = partition.Partition.Value;
            if (p >= ledgers.Count || !ends.TryGetValue(p, out var end))
            {
                continue;
            }

            var hasCommitted = committed.TryGetValue(p, out var c) && c.Value >= 0;
            ledgers[p].Observe(hasCommitted ? c.Value : starts.GetValueOrDefault(p, 0), end, limit);
            Report(ledgers[p].View(limit), limit, hasCommitted);
        }
    }

    private void Report(BacklogView view, BacklogLimit limit, bool groupCommitted)
    {
        var full = view.Bytes * 10 >= limit.Bytes * 9 || view.Messages * 10 >= limit.Messages * 9;
        if (full)
        {
            var since = _fullSince.TryGetValue(view.Partition, out var at) ? at : _fullSince[view.Partition] = time.GetTimestamp();
            if (time.GetElapsedTime(since) >= FullFor && _reported.Add(view.Partition))
            {
                Log.PartitionFull(logger, view.Partition, ingest.Value.Topic, view.Bytes, view.Messages, api.Value.WorkerGroupId, limit.Bytes);
                if (!groupCommitted)
                {
                    // Nothing committed here by that group: no worker has stored anything from it, or the API watches another group.
                    Log.GroupCommittedNothing(logger, api.Value.WorkerGroupId, ingest.Value.Topic, view.Partition);
                }
            }
        }
        else if (view.Bytes * 2 < limit.Bytes)
        {
            _fullSince.Remove(view.Partition);
            if (_reported.Remove(view.Partition))
            {
                Log.PartitionHasRoom(logger, view.Partition, ingest.Value.Topic, view.Bytes);
            }
        }
    }

    private static async Task<Dictionary<int, long>> ListOffsetsAsync(IAdminClient admin, List<TopicPartition> partitions, OffsetSpec spec)
    {
        List<ListOffsetsResultInfo> infos;
        try
        {
            var result = await admin.ListOffsetsAsync(
                partitions.Select(p => new TopicPartitionOffsetSpec { TopicPartition = p, OffsetSpec = spec }),
                new ListOffsetsOptions { RequestTimeout = RequestTimeout });
            infos = result.ResultInfos;
        }
        catch (ListOffsetsException ex)
        {
            infos = ex.Result.ResultInfos; // some partitions answered (a leader moving): use those, skip the rest this time
        }

        return infos
            .Where(r => !r.TopicPartitionOffsetError.Error.IsError)
            .ToDictionary(r => r.TopicPartitionOffsetError.Partition.Value, r => r.TopicPartitionOffsetError.Offset.Value);
    }

    /// <summary>A consumer in the workers' group that never subscribes: it reads their committed offsets (OffsetFetch) only.</summary>
    private IConsumer<byte[], byte[]> GroupView()
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(kafka.Value.Client, StringComparer.Ordinal))
        {
            GroupId = api.Value.WorkerGroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        };
        return new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
    }
}
