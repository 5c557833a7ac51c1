using System.Threading.Channels;
using Confluent.Kafka;

namespace Ingest.Worker.Consuming;

/// <summary>
/// One assigned partition's work queue: a bounded channel drained by one task, so a partition's
/// messages are processed serially (session order) while partitions run in parallel. When the channel
/// is full — by message count or by bytes — the poll thread holds further messages here and pauses the
/// partition (memory stays bounded); while the database is unavailable the lane reports itself
/// <see cref="Stalled"/> and the poll thread pauses it too. Everything except the processing task and
/// <see cref="Stalled"/> is used on the poll thread only.
/// </summary>
internal sealed class PartitionLane
{
    private readonly Channel<ConsumeResult<byte[]?, byte[]?>> _queue;
    private readonly Queue<ConsumeResult<byte[]?, byte[]?>> _held = new();
    // Never disposed: Abort may race with the task ending, and a CTS without a timer holds nothing native.
    private readonly CancellationTokenSource _abort = new();
    private readonly Func<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>, Action, CancellationToken, Task> _process;
    private readonly Action<TopicPartition, Exception> _onFault;
    private readonly int _maxBatchMessages;
    private readonly long _maxBatchBytes;
    private readonly long _maxQueuedBytes;
    private long _queuedBytes;
    private volatile bool _stalled;

    public PartitionLane(
        TopicPartition partition,
        WorkerOptions options,
        Func<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>, Action, CancellationToken, Task> process,
        Action<TopicPartition, Exception> onFault)
    {
        Partition = partition;
        _process = process;
        _onFault = onFault;
        _maxBatchMessages = options.MaxBatchMessages;
        _maxBatchBytes = options.MaxBatchBytes;
        _maxQueuedBytes = options.LaneCapacityBytes;
        _queue = Channel.CreateBounded<ConsumeResult<byte[]?, byte[]?>>(new BoundedChannelOptions(options.LaneCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        Completion = Task.Run(RunAsync);
    }

    public TopicPartition Partition { get; }

    public OffsetTracker Offsets { get; } = new();

    /// <summary>Whether the poll thread has paused this partition (poll thread only).</summary>
    public bool Paused { get; set; }

    /// <summary>True while the lane's current batch waits for the database (a transient error is being retried).</summary>
    public bool Stalled => _stalled;

    /// <summary>Message bytes queued in the lane or being processed (not counting held ones).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Completes when the processing task has ended; never faults.</summary>
    public Task Completion { get; }

    /// <summary>Queues a message; false when it had to be held because the lane is full.</summary>
    public bool Offer(ConsumeResult<byte[]?, byte[]?> message)
    {
        if (message.Offset.Value <= Offsets.LastDispatched)
        {
            return true; // a re-fetch of something already in flight here; it is (being) stored
        }

        Offsets.Dispatched(message.Offset.Value);
        if (_held.Count == 0 && TryQueue(message))
        {
            return true;
        }

        _held.Enqueue(message);
        return false;
    }

    /// <summary>Moves held messages into the lane as room frees up; true when none is held any more.</summary>
    public bool TryReleaseHeld()
    {
        while (_held.TryPeek(out var next) && TryQueue(next))
        {
            _held.Dequeue();
        }

        return _held.Count == 0;
    }

    private static long SizeOf(ConsumeResult<byte[]?, byte[]?> message) =>
        (long)(message.Message.Value?.Length ?? 0) + (message.Message.Key?.Length ?? 0);

    /// <summary>Queues within both budgets; one message larger than the byte budget still goes when the lane is empty.</summary>
    private bool TryQueue(ConsumeResult<byte[]?, byte[]?> message)
    {
        var size = SizeOf(message);
        var queued = QueuedBytes;
        if (queued > 0 && queued + size > _maxQueuedBytes)
        {
            return false;
        }

        if (!_queue.Writer.TryWrite(message))
        {
            return false;
        }

        Interlocked.Add(ref _queuedBytes, size);
        return true;
    }

    /// <summary>Stops feeding the lane; it finishes what is queued, then <see cref="Completion"/> completes.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Cancels the work in progress and drops what is queued.</summary>
    public void Abort()
    {
        Complete();
        _abort.Cancel();
    }

    private async Task RunAsync()
    {
        var token = _abort.Token;
        var reader = _queue.Reader;
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>(_maxBatchMessages);
        try
        {
            while (await reader.WaitToReadAsync(token))
            {
                batch.Clear();
                long bytes = 0;
                while (batch.Count < _maxBatchMessages && reader.TryPeek(out var next))
                {
                    var size = SizeOf(next);
                    if (batch.Count > 0 && bytes + size > _maxBatchBytes)
                    {
                        break;
                    }

                    reader.TryRead(out _);
                    batch.Add(next);
                    bytes += size;
                }

                await _process(batch, () => _stalled = true, token);
                _stalled = false;
                foreach (var message in batch)
                {
                    Offsets.Finished(message.Offset.Value);
                }

                Interlocked.Add(ref _queuedBytes, -bytes);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Aborted (partition lost, or a drain timed out): what is not finished is not committed.
        }
        catch (Exception ex)
        {
            _onFault(Partition, ex);
        }
    }
}
