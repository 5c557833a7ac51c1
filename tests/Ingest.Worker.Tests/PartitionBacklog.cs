using Confluent.Kafka;
using Ingest.Testing;

namespace Ingest.Worker.Tests;

/// <summary>
/// A producer's flow control per partition, paced by the workers' committed offsets: a message may be produced
/// only while the bytes produced but not yet committed on its partition stay within a window. The mock cluster
/// keeps ~5 MiB per partition and silently drops the oldest (MEASURED.md); a window under that keeps every
/// uncommitted message on the log, so whichever worker owns the partition next can still fetch it. Also checks,
/// at every look, that the log still starts at or before the committed offset (nothing unconsumed was dropped).
/// </summary>
public sealed class PartitionBacklog : IDisposable
{
    private static readonly TimeSpan StallDeadline = TimeSpan.FromSeconds(60);

    private readonly IConsumer<byte[], byte[]> _reader;
    private readonly List<TopicPartition> _partitions;
    private readonly long _windowBytes;
    private readonly Lock _gate = new();
    // Per partition: (offset, bytes produced up to and including it), in offset order.
    private readonly List<(long Offset, long Through)>[] _produced;
    private readonly long[] _producedBytes;
    private readonly long[] _committed;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private DateTime _refreshedAt;

    public PartitionBacklog(IsolatedStack stack, long windowBytes)
    {
        _reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = stack.Mock.BootstrapServers,
            GroupId = stack.GroupId, // only to read the group's committed offsets: never subscribes
        }).Build();
        _partitions = [.. Enumerable.Range(0, stack.Partitions).Select(p => new TopicPartition(IsolatedStack.Topic, p))];
        _windowBytes = windowBytes;
        _produced = [.. _partitions.Select(_ => new List<(long, long)>())];
        _producedBytes = new long[stack.Partitions];
        _committed = new long[stack.Partitions];
    }

    /// <summary>The largest uncommitted backlog seen on any partition, in bytes.</summary>
    public long PeakBacklogBytes { get; private set; }

    /// <summary>Bytes committed over all partitions at the last look.</summary>
    public long CommittedBytes
    {
        get
        {
            lock (_gate)
            {
                return Enumerable.Range(0, _partitions.Count).Sum(CommittedBytesOf);
            }
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> more fit in <paramref name="partition"/>'s window.</summary>
    public async Task WaitForRoomAsync(int partition, long bytes, Func<string> diagnostics, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StallDeadline;
        var seen = -1L;
        while (Backlog(partition) + bytes > _windowBytes)
        {
            await RefreshAsync(cancellationToken);
            var committed = Volatile.Read(ref _committed[partition]);
            if (committed != seen)
            {
                (seen, until) = (committed, DateTime.UtcNow + StallDeadline);
            }

            Assert.True(DateTime.UtcNow < until,
                $"Partition {partition}: nothing committed for {StallDeadline.TotalSeconds:0} s at offset {committed}, backlog {Backlog(partition)} bytes.\n{diagnostics()}");
            if (Backlog(partition) + bytes > _windowBytes)
            {
                await Task.Delay(10, cancellationToken); // polling a condition with a deadline
            }
        }
    }

    /// <summary>Records a produced message (after its delivery report).</summary>
    public void Produced(int partition, long offset, long bytes)
    {
        lock (_gate)
        {
            _producedBytes[partition] += bytes;
            _produced[partition].Add((offset, _producedBytes[partition]));
            PeakBacklogBytes = Math.Max(PeakBacklogBytes, Backlog(partition));
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
            return _producedBytes[partition] - CommittedBytesOf(partition);
        }
    }

    /// <summary>Bytes of the messages before the committed offset (caller holds the lock).</summary>
    private long CommittedBytesOf(int partition)
    {
        var committed = _committed[partition];
        var produced = _produced[partition];
        var index = produced.FindLastIndex(p => p.Offset < committed);
        return index < 0 ? 0 : produced[index].Through;
    }

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

            var (committed, starts) = await Task.Run(
                () => (_reader.Committed(_partitions, TimeSpan.FromSeconds(10)),
                       _partitions.Select(p => _reader.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).Low.Value).ToArray()),
                cancellationToken);
            lock (_gate)
            {
                foreach (var offset in committed)
                {
                    var partition = offset.Partition.Value;
                    var next = Math.Max(0, offset.Offset.Value); // -1001: nothing committed yet
                    Assert.True(starts[partition] <= next,
                        $"Partition {partition}: the log starts at {starts[partition]}, past the committed offset {next}: the broker dropped unconsumed messages.");
                    _committed[partition] = Math.Max(_committed[partition], next);
                    PeakBacklogBytes = Math.Max(PeakBacklogBytes, _producedBytes[partition] - CommittedBytesOf(partition));
                }
            }

            _refreshedAt = DateTime.UtcNow;
        }
        finally
        {
            _refresh.Release();
        }
    }
}
