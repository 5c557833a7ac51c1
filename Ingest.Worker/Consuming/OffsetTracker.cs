namespace Ingest.Worker.Consuming;

/// <summary>
/// One partition's offsets between dispatch and commit: the poll thread records each offset it hands
/// to the lane (in order), the lane reports offsets finished (stored or dead-lettered, in any order,
/// from any thread), and the commit value is the highest offset such that it and every offset
/// dispatched before it are finished, plus one. Offsets need not be consecutive: compaction and
/// transaction markers leave gaps, so contiguity is over the dispatched offsets, not over numbers.
/// </summary>
public sealed class OffsetTracker
{
    private readonly Lock _gate = new();
    private readonly Queue<long> _pending = new();
    private readonly HashSet<long> _finishedAhead = [];
    private long _lastDispatched = -1;
    private long _lastContiguous = -1;
    private long _committed = -1;

    /// <summary>The highest offset dispatched so far, or -1.</summary>
    public long LastDispatched
    {
        get
        {
            lock (_gate)
            {
                return _lastDispatched;
            }
        }
    }

    /// <summary>Dispatched offsets not yet covered by the contiguous finished prefix.</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Records an offset handed to the lane; offsets must increase.</summary>
    public void Dispatched(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_gate)
        {
            if (offset <= _lastDispatched)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(offset), offset, $"Offsets must be dispatched in increasing order; last was {_lastDispatched}.");
            }

            _lastDispatched = offset;
            _pending.Enqueue(offset);
        }
    }

    /// <summary>Records that the message at <paramref name="offset"/> is durably stored or dead-lettered.</summary>
    public void Finished(long offset)
    {
        lock (_gate)
        {
            if (offset <= _lastContiguous || offset > _lastDispatched)
            {
                return; // already covered, or never dispatched here (a lane of an earlier assignment)
            }

            _finishedAhead.Add(offset);
            while (_pending.TryPeek(out var head) && _finishedAhead.Remove(head))
            {
                _pending.Dequeue();
                _lastContiguous = head;
            }
        }
    }

    /// <summary>
    /// The offset to commit (last contiguous finished + 1) when it is ahead of the last one committed.
    /// </summary>
    public bool TryGetCommit(out long next)
    {
        lock (_gate)
        {
            next = _lastContiguous + 1;
            return _lastContiguous >= 0 && next > _committed;
        }
    }

    /// <summary>Records a successful commit of <paramref name="next"/>.</summary>
    public void MarkCommitted(long next)
    {
        lock (_gate)
        {
            _committed = Math.Max(_committed, next);
        }
    }
}
