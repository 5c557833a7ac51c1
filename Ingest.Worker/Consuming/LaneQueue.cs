using System.Threading.Channels;
using Confluent.Kafka;

namespace Ingest.Worker.Consuming;

/// <summary>
/// A lane's bounded queue: a channel written by the poll thread and read by the lane's task, within a message
/// budget and a byte budget. A message that does not fit is held here, in order, until room frees up; batches are
/// taken within the batch budgets. Holding and releasing happen on the poll thread only.
/// </summary>
internal sealed class LaneQueue
{
    private readonly Channel<ConsumeResult<byte[]?, byte[]?>> _channel;
    private readonly Queue<ConsumeResult<byte[]?, byte[]?>> _held = new();
    private readonly int _maxBatchMessages;
    private readonly long _maxBatchBytes;
    private readonly long _maxQueuedBytes;
    private long _queuedBytes;

    public LaneQueue(WorkerOptions options)
    {
        _maxBatchMessages = options.MaxBatchMessages;
        _maxBatchBytes = options.MaxBatchBytes;
        _maxQueuedBytes = options.LaneCapacityBytes;
        _channel = Channel.CreateBounded<ConsumeResult<byte[]?, byte[]?>>(new BoundedChannelOptions(options.LaneCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Message bytes queued or being processed (not counting held ones).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Queues <paramref name="message"/>; false when it had to be held because the queue is full.</summary>
    public bool Enqueue(ConsumeResult<byte[]?, byte[]?> message)
    {
        if (_held.Count == 0 && TryQueue(message))
        {
            return true;
        }

        _held.Enqueue(message);
        return false;
    }

    /// <summary>Moves held messages into the queue as room frees up; true when none is held any more.</summary>
    public bool TryReleaseHeld()
    {
        while (_held.TryPeek(out var next) && TryQueue(next))
        {
            _held.Dequeue();
        }

        return _held.Count == 0;
    }

    /// <summary>No more messages: the reader ends once it has taken what is queued.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>
    /// Waits for the next batch and fills <paramref name="batch"/> with it (within the batch budgets; one message larger
    /// than the byte budget goes alone); false once the queue is completed and empty.
    /// </summary>
    public async ValueTask<bool> TakeBatchAsync(List<ConsumeResult<byte[]?, byte[]?>> batch, CancellationToken cancellationToken)
    {
        batch.Clear();
        var reader = _channel.Reader;
        if (!await reader.WaitToReadAsync(cancellationToken))
        {
            return false;
        }

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

        return true;
    }

    /// <summary>Frees the room of a processed batch.</summary>
    public void Processed(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch) => Interlocked.Add(ref _queuedBytes, -batch.Sum(SizeOf));

    private static long SizeOf(ConsumeResult<byte[]?, byte[]?> message) =>
        (long)(message.Message.Value?.Length ?? 0) + (message.Message.Key?.Length ?? 0);

    /// <summary>Queues within both budgets; one message larger than the byte budget still goes when the queue is empty.</summary>
    private bool TryQueue(ConsumeResult<byte[]?, byte[]?> message)
    {
        var size = SizeOf(message);
        var queued = QueuedBytes;
        if (queued > 0 && queued + size > _maxQueuedBytes)
        {
            return false;
        }

        if (!_channel.Writer.TryWrite(message))
        {
            return false;
        }

        Interlocked.Add(ref _queuedBytes, size);
        return true;
    }
}
