using Microsoft.Extensions.Options;

namespace Ingest.Api.Backpressure;

/// <summary>
/// The API's in-flight byte budget (<c>Api:InFlightBudgetBytes</c>): decoded bytes read from clients and not
/// yet acknowledged by Kafka. A new request takes budget only if it is free right now and nobody is waiting
/// (else 429); an upload in progress waits for it, first come first served, which stops reading its socket
/// and so pushes back on the client through TCP.
/// </summary>
public sealed class InFlightBudget(IOptions<ApiOptions> api)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = [];
    private long _used;

    /// <summary>Bytes taken now.</summary>
    public long InFlight => Interlocked.Read(ref _used);

    /// <summary>
    /// The configured budget; read on use, not at construction: metrics resolve this type at build time, before
    /// start-up validation reports a bad key.
    /// </summary>
    public long Capacity => api.Value.InFlightBudgetBytes;

    /// <summary>Takes <paramref name="bytes"/> if they are free and no upload in progress is waiting for budget.</summary>
    public bool TryAcquire(long bytes)
    {
        bytes = Math.Min(bytes, Capacity);
        lock (_gate)
        {
            if (_waiters.Count > 0 || _used + bytes > Capacity)
            {
                return false;
            }

            _used += bytes;
            return true;
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> are free and takes them; bounded by <paramref name="cancellationToken"/>.</summary>
    public async ValueTask AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Min(bytes, Capacity);
        Waiter waiter;
        LinkedListNode<Waiter> node;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _used + bytes <= Capacity)
            {
                _used += bytes;
                return;
            }

            waiter = new Waiter(bytes);
            node = _waiters.AddLast(waiter);
        }

        try
        {
            await waiter.Granted.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            bool granted;
            lock (_gate)
            {
                granted = node.List is null;
                if (!granted)
                {
                    _waiters.Remove(node);
                }
            }

            if (granted)
            {
                Release(bytes); // granted while we gave up: hand it on
            }
            else
            {
                Release(0); // the next waiter may fit now that we no longer block the queue
            }

            throw;
        }
    }

    /// <summary>Returns <paramref name="bytes"/> and wakes the waiters that now fit, in arrival order.</summary>
    public void Release(long bytes)
    {
        if (bytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        List<Waiter>? granted = null;
        lock (_gate)
        {
            _used -= Math.Min(bytes, _used);
            while (_waiters.First is { } first && _used + first.Value.Bytes <= Capacity)
            {
                _used += first.Value.Bytes;
                _waiters.RemoveFirst();
                (granted ??= []).Add(first.Value);
            }
        }

        foreach (var waiter in granted ?? [])
        {
            waiter.Granted.TrySetResult();
        }
    }

    private sealed record Waiter(long Bytes)
    {
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
