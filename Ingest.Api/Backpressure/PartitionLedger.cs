namespace Ingest.Api.Backpressure;

/// <summary>
/// One partition of the payload topic: what it holds that the worker group has not committed yet, and the uploads
/// waiting for room in it. The committed offset and the log end come from <see cref="BacklogMonitor"/> (cached, a
/// second old at most while nobody waits); this API's own messages are counted exactly as they are produced, so a
/// burst never waits for the next look. Messages other producers wrote (other API replicas, a redrive) are counted
/// from the log end at the average size of this API's own messages. A stale committed offset only makes the
/// backlog look larger: the ledger errs towards refusing, never towards losing.
/// </summary>
public sealed class PartitionLedger(int partition, TimeProvider time, Action? onWait = null)
{
    /// <summary>Weight of the newest message in the running average size.</summary>
    private const double AverageWeight = 1.0 / 64;

    /// <summary>
    /// This API's messages are counted in runs of up to this many, in delivery order: a run is forgotten once the committed
    /// offset passes its highest offset. Memory stays a run per 64 messages however long the workers are away, and a run
    /// the committed offset is inside still counts whole (a few messages too many: the ledger errs towards refusing).
    /// </summary>
    private const int RunLength = 64;

    private readonly Lock _gate = new();
    private readonly LinkedList<Run> _own = []; // this API's delivered messages not known to be committed
    private readonly LinkedList<Waiter> _waiters = [];
    private long _ownBytes;
    private long _ownMessages;
    private long _pendingBytes;
    private long _pendingMessages;
    private long _committed;
    private long _end;
    private long _observedEnd;
    private long _foreign;
    private double _averageBytes;
    private long _lastTakenAt = time.GetTimestamp();

    public int Partition { get; } = partition;

    /// <summary>Whether an upload waits for room here (the monitor then looks more often).</summary>
    public bool HasWaiters
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count > 0;
            }
        }
    }

    public BacklogView View(BacklogLimit limit)
    {
        lock (_gate)
        {
            return new BacklogView(Partition, (long)BytesLocked(limit), MessagesLocked(), _committed, _end, _waiters.Count);
        }
    }

    /// <summary>
    /// True when the partition has had no room for <paramref name="after"/>: nothing reserved here for that long while
    /// it was full or someone waited. Pacing a large upload fills a partition again and again, but room keeps coming;
    /// a stall means the workers store nothing from it, and a new payload is better refused before its body is read.
    /// </summary>
    public bool IsStalled(BacklogLimit limit, TimeSpan after)
    {
        lock (_gate)
        {
            return (_waiters.Count > 0 || !FitsLocked(0, limit)) && time.GetElapsedTime(_lastTakenAt) >= after;
        }
    }

    /// <summary>
    /// Reserves room for a message of <paramref name="bytes"/>, waiting (first come, first served) until the worker
    /// group's progress makes it; bounded by <paramref name="cancellationToken"/>. Pair with <see cref="Delivered"/> or
    /// <see cref="Failed"/>.
    /// </summary>
    public async ValueTask ReserveAsync(long bytes, Func<BacklogLimit?> limit, CancellationToken cancellationToken)
    {
        Waiter waiter;
        LinkedListNode<Waiter> node;
        lock (_gate)
        {
            if (_waiters.Count == 0 && (limit() is not { } now || FitsLocked(bytes, now)))
            {
                TakeLocked(bytes);
                return;
            }

            waiter = new Waiter(bytes);
            node = _waiters.AddLast(waiter);
        }

        onWait?.Invoke();

        try
        {
            await waiter.Granted.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (node.List is null)
                {
                    GiveBackLocked(bytes); // granted while we gave up
                }
                else
                {
                    _waiters.Remove(node);
                }
            }

            Grant(limit());
            throw;
        }
    }

    /// <summary>A reserved message is in the log at <paramref name="offset"/>.</summary>
    public void Delivered(long offset, long bytes)
    {
        lock (_gate)
        {
            GiveBackLocked(bytes);
            _averageBytes = _averageBytes == 0 ? bytes : _averageBytes + (AverageWeight * (bytes - _averageBytes));
            if (offset >= _committed)
            {
                if (_own.Last is not { Value.Messages: < RunLength } last)
                {
                    last = _own.AddLast(new Run());
                }

                last.Value.Add(offset, bytes);
                _ownBytes += bytes;
                _ownMessages++;
                _end = Math.Max(_end, offset + 1);
                if (offset < _observedEnd)
                {
                    _foreign = Math.Max(0, _foreign - 1); // the last look counted it already, as someone else's
                }
            }
        }
    }

    /// <summary>A reserved message was not produced, or Kafka refused it: its room comes back.</summary>
    public void Failed(long bytes, BacklogLimit? limit)
    {
        lock (_gate)
        {
            GiveBackLocked(bytes);
        }

        Grant(limit);
    }

    /// <summary>
    /// What the monitor read: the worker group's committed offset (the log start when the group has committed nothing
    /// there: the workers would start from it) and the log end. Frees room and wakes the waiters that now fit.
    /// </summary>
    public void Observe(long committed, long end, BacklogLimit? limit)
    {
        lock (_gate)
        {
            _committed = committed;
            while (_own.First is { } first && first.Value.Highest < committed)
            {
                _own.RemoveFirst();
                _ownBytes -= first.Value.Bytes;
                _ownMessages -= first.Value.Messages;
            }

            _observedEnd = end;
            _end = Math.Max(end, _end);
            _foreign = Math.Max(0, _end - committed - _ownMessages);
        }

        Grant(limit);
    }

    /// <summary>Wakes waiters that fit now; when the guard is off (<paramref name="limit"/> null), all of them.</summary>
    public void Grant(BacklogLimit? limit)
    {
        List<Waiter>? granted = null;
        lock (_gate)
        {
            while (_waiters.First is { } first && (limit is null || FitsLocked(first.Value.Bytes, limit)))
            {
                TakeLocked(first.Value.Bytes);
                _waiters.RemoveFirst();
                (granted ??= []).Add(first.Value);
            }
        }

        foreach (var waiter in granted ?? [])
        {
            waiter.Granted.TrySetResult();
        }
    }

    private double BytesLocked(BacklogLimit limit) =>
        _ownBytes + _pendingBytes + (_foreign * (_averageBytes > 0 ? _averageBytes : limit.UnknownMessageBytes));

    private long MessagesLocked() => _ownMessages + _pendingMessages + _foreign;

    /// <summary>A message larger than the whole limit still goes when the partition holds nothing else.</summary>
    private bool FitsLocked(long bytes, BacklogLimit limit)
    {
        var messages = MessagesLocked();
        return messages == 0 || (BytesLocked(limit) + bytes <= limit.Bytes && messages + 1 <= limit.Messages);
    }

    private void TakeLocked(long bytes)
    {
        _lastTakenAt = time.GetTimestamp();
        _pendingBytes += bytes;
        _pendingMessages++;
    }

    private void GiveBackLocked(long bytes)
    {
        _pendingBytes = Math.Max(0, _pendingBytes - bytes);
        _pendingMessages = Math.Max(0, _pendingMessages - 1);
    }

    /// <summary>Consecutively delivered messages of this API on the partition.</summary>
    private sealed class Run
    {
        public long Highest { get; private set; } = -1;

        public int Messages { get; private set; }

        public long Bytes { get; private set; }

        public void Add(long offset, long bytes)
        {
            Highest = Math.Max(Highest, offset);
            Messages++;
            Bytes += bytes;
        }
    }

    private sealed record Waiter(long Bytes)
    {
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
