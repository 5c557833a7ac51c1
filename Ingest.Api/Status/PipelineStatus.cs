using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Api.Auth;
using Ingest.Api.Payloads;
using Ingest.Api.Telemetry;
using Ingest.Contracts;
using Ingest.Hosting.Kafka;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Status;

/// <summary>
/// One partition of the payload topic as the worker group sees it. <see cref="OldestUnstoredAt"/> is the Kafka timestamp
/// (the API's produce time) of the first message at or after the group's committed offset, null when the partition has
/// no lag (or that message could not be read in time).
/// </summary>
public sealed record PartitionStatus(int Partition, long End, long? Committed, long Lag, DateTimeOffset? OldestUnstoredAt = null);

/// <summary>
/// What the status page shows: per-partition lag, totals the page turns into rates, DLQ depth, and the oldest payload
/// the worker group has not committed yet (its produce time, and its age at <see cref="At"/>).
/// </summary>
public sealed record StatusSnapshot(
    DateTimeOffset At, string Topic, string Group, long AcceptedByThisApi, long Produced, long Committed, long TotalLag,
    long DeadLetters, IReadOnlyList<PartitionStatus> Partitions, DateTimeOffset? OldestUnstoredAt = null)
{
    public double? OldestUnstoredAgeSeconds => OldestUnstoredAt is { } oldest ? Math.Max(0, (At - oldest).TotalSeconds) : null;
}

/// <summary>One point of <c>/status/history</c>: a past snapshot's totals and its lag per partition (keyed by partition).</summary>
public sealed record StatusSample(
    DateTimeOffset At, long AcceptedByThisApi, long Produced, long Committed, long TotalLag, long DeadLetters,
    double? OldestUnstoredAgeSeconds, IReadOnlyDictionary<int, long> Lags);

/// <summary>
/// Body of <c>/status/data</c>: the last snapshot (<see cref="At"/> and the numbers are null until the first one), how old
/// it is, and the last refresh's error while refreshing fails (null once one succeeds again).
/// </summary>
public sealed record StatusData(
    DateTimeOffset? At, double? AgeSeconds, string Topic, string Group, long? AcceptedByThisApi, long? Produced, long? Committed,
    long? TotalLag, long? DeadLetters, IReadOnlyList<PartitionStatus> Partitions, string? LastError, DateTimeOffset? LastErrorAt,
    DateTimeOffset? OldestUnstoredAt = null, double? OldestUnstoredAgeSeconds = null);

/// <summary>
/// Builds the status snapshot in the background — the worker group's committed offsets and the topics' watermarks,
/// through consumers that never subscribe (OffsetFetch and ListOffsets only: they do not join the group) — every
/// second while someone watches (a <see cref="Read"/> in the last minute), not at all otherwise. A request only reads
/// the last snapshot: a slow or absent broker makes the snapshot old (its age and the error say so), never a request
/// wait. Before, each anonymous request ran the blocking admin calls (5 s timeouts) under one lock on the thread pool:
/// with the broker paused, 40 requests starved the pool and <c>/healthz</c> took 13.7 s.
/// </summary>
public sealed class PipelineStatus(
    IOptions<KafkaSettings> kafka, IOptions<IngestOptions> ingest, IOptions<ApiOptions> api, ApiMetrics metrics, TimeProvider time,
    ILogger<PipelineStatus> logger) : BackgroundService
{
    /// <summary>How often the snapshot is rebuilt while watched: the page polls every second.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long after the last request the refresher keeps going; then it waits for the next request.</summary>
    public static readonly TimeSpan WatchedFor = TimeSpan.FromMinutes(1);

    /// <summary>How far back <c>/status/history</c> reaches: the page's chart window.</summary>
    public static readonly TimeSpan HistoryWindow = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>How long the refresher waits for the oldest unstored message of one partition before leaving it unknown.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly Queue<StatusSample> _history = new();
    private readonly Dictionary<int, (long Offset, DateTimeOffset At)> _oldest = [];
    private IConsumer<byte[], byte[]>? _reader;

    private readonly ManualResetEventSlim _asked = new(false);
    private long _askedAt;
    private StatusSnapshot? _snapshot;
    private StatusError? _error;
    private IConsumer<byte[], byte[]>? _observer;
    private IConsumer<byte[], byte[]>? _groupView;

    /// <summary>The last snapshot with its age and the last error; never waits, and wakes the refresher when idle.</summary>
    public StatusData Read()
    {
        MarkWatched();
        var snapshot = Volatile.Read(ref _snapshot);
        var error = Volatile.Read(ref _error);
        if (snapshot is not null && error is not null && error.At <= snapshot.At)
        {
            error = null; // a refresh succeeded since
        }

        return new StatusData(
            snapshot?.At, snapshot is null ? null : Math.Max(0, (time.GetUtcNow() - snapshot.At).TotalSeconds),
            snapshot?.Topic ?? ingest.Value.Topic, snapshot?.Group ?? api.Value.WorkerGroupId, snapshot?.AcceptedByThisApi,
            snapshot?.Produced, snapshot?.Committed, snapshot?.TotalLag, snapshot?.DeadLetters, snapshot?.Partitions ?? [],
            error?.Message, error?.At, snapshot?.OldestUnstoredAt, snapshot?.OldestUnstoredAgeSeconds);
    }

    /// <summary>Someone watches: the refresher runs (or wakes) and keeps going for <see cref="WatchedFor"/> from now.</summary>
    private void MarkWatched()
    {
        Volatile.Write(ref _askedAt, time.GetTimestamp());
        _asked.Set();
    }

    /// <summary>The snapshots of the last <see cref="HistoryWindow"/> (only those taken while someone watched), oldest first.</summary>
    public IReadOnlyList<StatusSample> History()
    {
        MarkWatched();
        var since = time.GetUtcNow() - HistoryWindow;
        lock (_history)
        {
            return _history.Where(s => s.At >= since).ToList();
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _asked.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // The Kafka calls block their thread for up to their timeout: a thread of its own, never the request pool's.
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                _asked.Reset(); // before reading the time of the last request: a request after this sets it again
                var askedAt = Volatile.Read(ref _askedAt);
                if (askedAt == 0 || time.GetElapsedTime(askedAt) >= WatchedFor)
                {
                    _asked.Wait(stoppingToken); // idle: nobody watches, so nothing asks Kafka
                }

                // One snapshot a second, not a second between snapshots: the probe itself takes a few hundred
                // milliseconds on a busy machine, which otherwise spread the charts' points 2-3 s apart.
                var started = Stopwatch.GetTimestamp();
                Refresh();
                var left = RefreshInterval - Stopwatch.GetElapsedTime(started);
                stoppingToken.WaitHandle.WaitOne(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _observer?.Dispose();
            _groupView?.Dispose();
            _reader?.Dispose();
        }
    }

    private void Refresh()
    {
        try
        {
            var snapshot = Probe();
            Volatile.Write(ref _snapshot, snapshot);
            Remember(snapshot);
            if (_error is not null)
            {
                Log.StatusReadable(logger, ingest.Value.Topic);
                Volatile.Write(ref _error, null);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var reason = ex is KafkaException kafkaError ? kafkaError.Error.Reason : ex.Message;
            if (_error?.Message != reason)
            {
                Log.StatusUnreadable(logger, ingest.Value.Topic, reason);
            }

            Volatile.Write(ref _error, new StatusError(reason, time.GetUtcNow()));
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
        var read = partitions.Select(p =>
        {
            var marks = _observer.QueryWatermarkOffsets(p, Timeout);
            long? done = committed.TryGetValue(p.Partition.Value, out var c) && c != Offset.Unset ? c.Value : null;
            return (Row: new PartitionStatus(p.Partition.Value, marks.High.Value, done, Math.Max(0, marks.High.Value - (done ?? marks.Low.Value))),
                First: Math.Max(done ?? marks.Low.Value, marks.Low.Value), Topic: p);
        }).ToList();
        var oldest = OldestUnstored(read.Where(m => m.First < m.Row.End).ToDictionary(m => m.Topic, m => m.First));
        var rows = read.Select(m => m.Row with { OldestUnstoredAt = oldest.TryGetValue(m.Row.Partition, out var at) ? at : null }).ToList();
        var deadLetters = Partitions(IngestTopics.DeadLetterFor(topic))
            .Select(p => _observer.QueryWatermarkOffsets(p, Timeout))
            .Sum(w => w.High.Value - w.Low.Value);
        return new StatusSnapshot(
            time.GetUtcNow(), topic, group, metrics.AcceptedTotal, rows.Sum(r => r.End), rows.Sum(r => r.Committed ?? 0),
            rows.Sum(r => r.Lag), deadLetters, rows, rows.Min(r => r.OldestUnstoredAt));
    }

    private void Remember(StatusSnapshot snapshot)
    {
        var sample = new StatusSample(
            snapshot.At, snapshot.AcceptedByThisApi, snapshot.Produced, snapshot.Committed, snapshot.TotalLag, snapshot.DeadLetters,
            snapshot.OldestUnstoredAgeSeconds, snapshot.Partitions.ToDictionary(p => p.Partition, p => p.Lag));
        lock (_history)
        {
            _history.Enqueue(sample);
            while (_history.Count > 0 && _history.Peek().At < snapshot.At - HistoryWindow)
            {
                _history.Dequeue();
            }
        }
    }

    /// <summary>
    /// The produce time of the first message at or after each wanted offset (partition → the group's committed offset):
    /// read once per committed offset (the group's progress), so an idle or stuck partition costs no fetch after the first;
    /// every partition to read in one assignment (one fetch round for all), each paused once it gave its message; a small
    /// fetch budget, since only one message each is wanted. Partitions not read within <see cref="ReadTimeout"/> are left out.
    /// </summary>
    private Dictionary<int, DateTimeOffset> OldestUnstored(Dictionary<TopicPartition, long> wanted)
    {
        var found = new Dictionary<int, DateTimeOffset>();
        var toRead = new Dictionary<int, TopicPartitionOffset>();
        foreach (var (partition, offset) in wanted)
        {
            if (_oldest.TryGetValue(partition.Partition.Value, out var known) && known.Offset == offset)
            {
                found[partition.Partition.Value] = known.At;
            }
            else
            {
                toRead[partition.Partition.Value] = new TopicPartitionOffset(partition, offset);
            }
        }

        if (toRead.Count == 0)
        {
            return found;
        }

        _reader ??= Reader();
        _reader.Assign(toRead.Values);
        var paused = new List<TopicPartition>();
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (toRead.Count > 0 && ReadTimeout - Stopwatch.GetElapsedTime(started) is { Ticks: > 0 } left
                && _reader.Consume(left) is { } consumed)
            {
                if (!toRead.Remove(consumed.Partition.Value, out var asked))
                {
                    continue;
                }

                _reader.Pause([consumed.TopicPartition]);
                paused.Add(consumed.TopicPartition);
                if (consumed.Message.Timestamp.Type != TimestampType.NotAvailable)
                {
                    DateTimeOffset at = consumed.Message.Timestamp.UtcDateTime;
                    _oldest[consumed.Partition.Value] = (asked.Offset.Value, at);
                    found[consumed.Partition.Value] = at;
                }
            }
        }
        catch (ConsumeException)
        {
            // Left out: the page shows what it has; the next refresh tries again.
        }
        finally
        {
            // A pause outlives the assignment in librdkafka: resumed before unassigning, or the partition's next read
            // would wait out ReadTimeout (it did, every second snapshot under load).
            _reader.Resume(paused);
            _reader.Unassign();
        }

        return found;
    }

    private IConsumer<byte[], byte[]> Reader()
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(kafka.Value.Client, StringComparer.Ordinal))
        {
            GroupId = $"ingest-api-status-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // One message is wanted: keep the fetch and the prefetch queue small (payloads can be megabytes).
            FetchMaxBytes = 1024 * 1024,
            MaxPartitionFetchBytes = 256 * 1024,
            QueuedMaxMessagesKbytes = 1024,
            QueuedMinMessages = 1,
        };
        // With a message queued, librdkafka waits fetch.queue.backoff.ms (1 s) before it fetches a partition again: a
        // read that came after an earlier one's then waited out that second (one snapshot in three under load).
        config.Set("fetch.queue.backoff.ms", "10");
        return new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
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

    private sealed record StatusError(string Message, DateTimeOffset At);
}
