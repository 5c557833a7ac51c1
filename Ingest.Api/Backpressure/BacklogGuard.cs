using Ingest.Contracts.Identity;

namespace Ingest.Api.Backpressure;

/// <summary>
/// Keeps every partition's accepted-but-uncommitted backlog inside what the topic retains, so the broker never deletes
/// a payload the workers have not stored (the embedded broker keeps ~5 MiB per partition; a real one
/// <c>retention.bytes</c>). A new payload waits for room in its partition (first come, first served) up to
/// <c>Api:BacklogAdmitTimeout</c> — and is refused before its body is read when the partition has had no room for that
/// long already — then gets 503 + Retry-After; a chunk of an upload in progress waits up to <c>Api:BacklogWaitTimeout</c>. Off — no cost per request — when the topic keeps everything (no
/// <c>retention.bytes</c>, the usual production setting): then only time-based retention applies, which no refusal
/// can defend (see the README).
/// </summary>
public sealed class BacklogGuard(TimeProvider time)
{
    private volatile State _state = new([], null, "not looked at yet");
    private TaskCompletionSource _nudge = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The limit in force, or null when the guard is off or the topic has not been looked at yet.</summary>
    public BacklogLimit? Limit => _state.Limit;

    /// <summary>Where <see cref="Limit"/> comes from, for logs and the status page.</summary>
    public string Source => _state.Source;

    public IReadOnlyList<PartitionLedger> Ledgers => _state.Ledgers;

    /// <summary>True while an upload waits for room somewhere: the monitor looks more often.</summary>
    public bool AnyWaiting => _state.Ledgers.Any(l => l.HasWaiters);

    /// <summary>Completes when an upload starts waiting for room (the monitor then looks at once).</summary>
    internal Task Nudged => Volatile.Read(ref _nudge).Task;

    /// <summary>The ledger of the partition <paramref name="key"/> lands on, or null when the guard is off.</summary>
    public PartitionLedger? For(byte[] key)
    {
        var state = _state;
        return state.Limit is null || state.Ledgers.Length == 0
            ? null
            : state.Ledgers[SessionKey.PartitionFor(key, state.Ledgers.Length)];
    }

    /// <summary>Views of every partition (empty when off).</summary>
    public IReadOnlyList<BacklogView> Views()
    {
        var state = _state;
        return state.Limit is { } limit ? [.. state.Ledgers.Select(l => l.View(limit))] : [];
    }

    /// <summary>The topic's partition count and the limit (null: off); ledgers of existing partitions are kept.</summary>
    internal void Configure(int partitions, BacklogLimit? limit, string source)
    {
        var old = _state;
        var ledgers = old.Ledgers.Length == partitions
            ? old.Ledgers
            : [.. Enumerable.Range(0, partitions).Select(p => p < old.Ledgers.Length ? old.Ledgers[p] : new PartitionLedger(p, time, Nudge))];
        _state = new State(ledgers, limit, source);
        foreach (var ledger in ledgers)
        {
            ledger.Grant(limit); // a raised limit (or none) lets waiters go
        }
    }

    private void Nudge() =>
        Interlocked.Exchange(ref _nudge, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private sealed record State(PartitionLedger[] Ledgers, BacklogLimit? Limit, string Source);
}
