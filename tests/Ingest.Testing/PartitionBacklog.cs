using Confluent.Kafka;
using Xunit;

namespace Ingest.Testing;

/// <summary>
/// The bytes sent but not yet committed by the workers, per partition, for whoever loads a topic in a test, and the
/// check that the broker never dropped what nobody had consumed: every look verifies that the log still starts at or
/// before the workers' committed offset, and a test fails saying so when it does not. With a window it is also flow
/// control for loads that bypass the API (and so its backlog guard): a message may be sent only while the bytes sent
/// but not committed on its partition stay within it. The mock cluster keeps ~5 MiB per partition and silently drops
/// the oldest; a window under that keeps every uncommitted message on the log.
/// </summary>
public sealed class PartitionBacklog : IDisposable
{
    private static readonly TimeSpan StallDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan LookTimeout = TimeSpan.FromSeconds(2);

    private readonly IConsumer<byte[], byte[]> _reader;
    private readonly List<TopicPartition> _partitions;
    private readonly long? _windowBytes;
    private readonly Lock _gate = new();
    // Per partition: messages not yet committed, (offset, bytes), in the order they were reported.
    private readonly List<(long Offset, long Bytes)>[] _uncommitted;
    private readonly long[] _backlog;
    private readonly long[] _committedBytes;
    private readonly long[] _committed;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private DateTime _refreshedAt;

    /// <param name="bootstrapServers">The cluster holding <paramref name="topic"/>.</param>
    /// <param name="topic">The topic being loaded.</param>
    /// <param name="groupId">The workers' group: only its committed offsets are read (this never joins it).</param>
    /// <param name="partitions">The topic's partition count.</param>
    /// <param name="windowBytes">Most bytes a partition may hold uncommitted, or null to only watch (no flow control).</param>
    public PartitionBacklog(string bootstrapServers, string topic, string groupId, int partitions, long? windowBytes)
    {
        _reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            // The mock can leave a request unanswered after a broker fault; the next looks queue behind it on the
            // same connection until it times out (60 s by default), and the load would stall that long for nothing.
            SocketTimeoutMs = 3000,
        }).SetLogHandler((_, _) => { }).Build();
        _partitions = [.. Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p))];
        _windowBytes = windowBytes;
        _uncommitted = [.. _partitions.Select(_ => new List<(long, long)>())];
        _backlog = new long[partitions];
        _committedBytes = new long[partitions];
        _committed = new long[partitions];
    }

    /// <summary>The topic's partition count.</summary>
    public int Partitions => _partitions.Count;

    /// <summary>The largest uncommitted backlog seen on any partition, in bytes.</summary>
    public long PeakBacklogBytes { get; private set; }

    /// <summary>Bytes committed over all partitions at the last look.</summary>
    public long CommittedBytes
    {
        get
        {
            lock (_gate)
            {
                return _committedBytes.Sum();
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="bytes"/> more fit in <paramref name="partition"/>'s window (always, when nothing is
    /// outstanding there: a message larger than the window goes alone). Fails when nothing is committed there for 60 s.
    /// </summary>
    public async Task WaitForRoomAsync(int partition, long bytes, Func<string> diagnostics, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StallDeadline;
        var seen = -1L;
        while (IsFull(partition, bytes))
        {
            await RefreshAsync(cancellationToken);
            var committed = Volatile.Read(ref _committed[partition]);
            if (committed != seen)
            {
                (seen, until) = (committed, DateTime.UtcNow + StallDeadline);
            }

            Assert.True(DateTime.UtcNow < until,
                $"Partition {partition}: nothing committed for {StallDeadline.TotalSeconds:0} s at offset {committed}, backlog {Backlog(partition)} bytes.\n{diagnostics()}");
            if (IsFull(partition, bytes))
            {
                await Task.Delay(10, cancellationToken); // polling a condition with a deadline
            }
        }
    }

    /// <summary>
    /// Looks at the committed offsets and log starts until <paramref name="cancellationToken"/> fires, every
    /// <paramref name="interval"/>; fails (the returned task faults) the first time the log starts past a committed offset.
    /// </summary>
    public async Task WatchAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                await RefreshAsync(cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Records a message on the log (after its delivery report); reports may come in any offset order.</summary>
    public void Produced(int partition, long offset, long bytes)
    {
        lock (_gate)
        {
            if (offset < _committed[partition])
            {
                _committedBytes[partition] += bytes;
                return;
            }

            _uncommitted[partition].Add((offset, bytes));
            _backlog[partition] += bytes;
            PeakBacklogBytes = Math.Max(PeakBacklogBytes, _backlog[partition]);
        }
    }

    /// <summary>Waits (polling the committed offsets, with a deadline) until <paramref name="bytes"/> are committed in all.</summary>
    public Task WaitForCommittedAsync(long bytes, Func<string> diagnostics, CancellationToken cancellationToken) =>
        Eventually.UntilAsync(
            async () =>
            {
                await RefreshAsync(cancellationToken);
                return CommittedBytes;
            },
            committed => committed >= bytes, TimeSpan.FromSeconds(120),
            committed => $"{committed} of {bytes} bytes committed.\n{diagnostics()}", cancellationToken);

    public void Dispose()
    {
        _reader.Dispose();
        _refresh.Dispose();
    }

    private long Backlog(int partition)
    {
        lock (_gate)
        {
            return _backlog[partition];
        }
    }

    /// <summary>True when <paramref name="bytes"/> more would overflow the window (never when nothing is outstanding).</summary>
    private bool IsFull(int partition, long bytes) =>
        _windowBytes is { } window && Backlog(partition) is var backlog && backlog > 0 && backlog + bytes > window;

    /// <summary>Reads the committed offsets and log starts, at most every 20 ms whoever asks.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (DateTime.UtcNow - _refreshedAt < TimeSpan.FromMilliseconds(20))
            {
                return;
            }

            // The broker may be down or re-electing (fault tests): a look that fails is no news (the stall deadline still
            // holds), and the looks are short and concurrent, so that a broker that does not answer holds nobody up for long.
            var looking = Task.Run(() => Try(() => _reader.Committed(_partitions, LookTimeout)) ?? [], cancellationToken);
            var starting = _partitions.Select(p => Task.Run(() => Try(() => (long?)_reader.QueryWatermarkOffsets(p, LookTimeout).Low.Value), cancellationToken)).ToList();
            var committed = await looking;
            var starts = await Task.WhenAll(starting);
            lock (_gate)
            {
                foreach (var offset in committed)
                {
                    var partition = offset.Partition.Value;
                    var next = Math.Max(0, offset.Offset.Value); // -1001: nothing committed yet
                    Assert.True(starts[partition] is not { } start || start <= next,
                        $"Partition {partition}: the log starts at {starts[partition]}, past the committed offset {next}: the broker dropped " +
                        "messages nobody had consumed (the test's load outran the broker's retention).");
                    Commit(partition, next);
                }
            }

            _refreshedAt = DateTime.UtcNow;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private static T? Try<T>(Func<T> look)
    {
        try
        {
            return look();
        }
        catch (KafkaException)
        {
            return default;
        }
    }

    /// <summary>Moves the messages before <paramref name="next"/> out of the backlog (caller holds the lock).</summary>
    private void Commit(int partition, long next)
    {
        if (next <= _committed[partition])
        {
            return;
        }

        _committed[partition] = next;
        var done = _uncommitted[partition].Where(m => m.Offset < next).Sum(m => m.Bytes);
        _uncommitted[partition].RemoveAll(m => m.Offset < next);
        _backlog[partition] -= done;
        _committedBytes[partition] += done;
    }
}
