using System.Collections.Concurrent;
using Ingest.Api.Auth;
using Ingest.Api.Payloads;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Backpressure;

/// <summary>
/// The API's in-flight byte budget (<c>Api:InFlightBudgetBytes</c>): decoded bytes read from clients and not yet
/// acknowledged by Kafka, shared fairly between projects. Every project has an <see cref="BudgetAccount"/> that may hold
/// at most its share (<c>BudgetShare</c> of the budget, at least one chunk), so a project that fills its share — with
/// uploads that stall, drip, or merely send a lot — never leaves the others without budget.
/// A new request takes budget only if its project's share and the whole budget have room right now and nobody it must
/// not overtake is waiting (else 429); an upload in progress waits for it — stopping reading its socket, which pushes
/// back on the client through TCP — first come first served among the uploads the whole budget holds back, while the
/// waiters of a project held back only by its own share let the others pass.
/// </summary>
public sealed class InFlightBudget(IOptions<ApiOptions> api, IOptions<IngestOptions> ingest)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = [];
    private readonly ConcurrentDictionary<string, BudgetAccount> _accounts = new(StringComparer.Ordinal);
    private long _used;

    /// <summary>Bytes taken now, all projects together.</summary>
    public long InFlight => Interlocked.Read(ref _used);

    /// <summary>
    /// The configured budget; read on use, not at construction: metrics resolve this type at build time, before
    /// start-up validation reports a bad key.
    /// </summary>
    public long Capacity => api.Value.InFlightBudgetBytes;

    /// <summary>The accounts of the projects that have uploaded since start-up.</summary>
    public IEnumerable<BudgetAccount> Accounts => _accounts.Values;

    /// <summary>The account of <paramref name="projectId"/>, with its share from <c>Api:ProjectLimits</c> and the project's <c>Limits</c>.</summary>
    public BudgetAccount For(string projectId) => _accounts.GetOrAdd(projectId, id =>
    {
        ingest.Value.Projects.TryGetValue(id, out var project);
        var share = api.Value.ProjectLimits.With(project?.Limits).BudgetShare ?? DefaultShare(ingest.Value.Projects.Count);
        return new BudgetAccount(this, id, ShareOf(share, Capacity, api.Value.ChunkBytes));
    });

    /// <summary>
    /// The share of a project when none is configured: 1 / the number of projects, but at least a quarter. Up to four
    /// projects, their shares add up to at most the whole budget, so none can ever take another's (one project gets it
    /// all); beyond four, a quarter each, so an abused key costs its project's quarter and no more.
    /// </summary>
    public static double DefaultShare(int projects) => Math.Max(0.25, 1.0 / Math.Max(1, projects));

    /// <summary>Bytes a project with <paramref name="share"/> may hold: at least one chunk, at most the budget.</summary>
    public static long ShareOf(double share, long capacity, int chunkBytes) =>
        Math.Min(capacity, Math.Max(chunkBytes, (long)Math.Ceiling(share * capacity)));

    /// <summary>Whether a new request of <paramref name="account"/> would find budget free now (it takes none).</summary>
    internal bool HasRoom(BudgetAccount account, long bytes)
    {
        lock (_gate)
        {
            return Fits(account, bytes) && !MustWaitBehind(account);
        }
    }

    /// <summary>Whether <paramref name="account"/>'s share, not the whole budget, lacks room for <paramref name="bytes"/>.</summary>
    internal bool IsShareShort(BudgetAccount account, long bytes)
    {
        lock (_gate)
        {
            return !account.ShareHasRoomUnsafe(bytes) && _used + bytes <= Capacity;
        }
    }

    /// <summary>Takes <paramref name="bytes"/> if they fit the account's share and the budget and nobody it must not overtake waits.</summary>
    internal bool TryAcquire(BudgetAccount account, long bytes)
    {
        bytes = Math.Min(bytes, account.Cap);
        lock (_gate)
        {
            if (!Fits(account, bytes) || MustWaitBehind(account))
            {
                return false;
            }

            Take(account, bytes);
            return true;
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> fit and takes them; bounded by <paramref name="cancellationToken"/>.</summary>
    internal async ValueTask AcquireAsync(BudgetAccount account, long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Min(bytes, account.Cap);
        Waiter waiter;
        LinkedListNode<Waiter> node;
        lock (_gate)
        {
            if (Fits(account, bytes) && !MustWaitBehind(account))
            {
                Take(account, bytes);
                return;
            }

            waiter = new Waiter(account, bytes);
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

            // Granted while we gave up: hand it on. Not granted: the next waiters may fit now that we no longer block them.
            Release(account, granted ? bytes : 0);
            throw;
        }
    }

    /// <summary>Returns <paramref name="bytes"/> of <paramref name="account"/> and wakes the waiters that now fit.</summary>
    internal void Release(BudgetAccount account, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        List<Waiter>? granted = null;
        lock (_gate)
        {
            bytes = Math.Min(bytes, account.UsedUnsafe);
            account.UsedUnsafe -= bytes;
            Interlocked.Exchange(ref _used, _used - bytes);
            HashSet<BudgetAccount>? heldBack = null;
            for (var node = _waiters.First; node is not null;)
            {
                var next = node.Next;
                var waiter = node.Value;
                if (_used + waiter.Bytes > Capacity)
                {
                    break; // the whole budget is short: first come, first served
                }

                if (heldBack?.Contains(waiter.Account) == true || !waiter.Account.ShareHasRoomUnsafe(waiter.Bytes))
                {
                    (heldBack ??= []).Add(waiter.Account); // its project is at its share: the others may pass, its own keep their order
                }
                else
                {
                    Take(waiter.Account, waiter.Bytes);
                    _waiters.Remove(node);
                    (granted ??= []).Add(waiter);
                }

                node = next;
            }
        }

        foreach (var waiter in granted ?? [])
        {
            waiter.Granted.TrySetResult();
        }
    }

    private bool Fits(BudgetAccount account, long bytes) => _used + bytes <= Capacity && account.ShareHasRoomUnsafe(bytes);

    /// <summary>
    /// Whether someone waits whom a taker of <paramref name="account"/> must not overtake: a waiter of the same project,
    /// or one that the whole budget holds back (not only its own project's share).
    /// </summary>
    private bool MustWaitBehind(BudgetAccount account)
    {
        foreach (var waiter in _waiters)
        {
            if (waiter.Account == account || waiter.Account.ShareHasRoomUnsafe(waiter.Bytes))
            {
                return true;
            }
        }

        return false;
    }

    private void Take(BudgetAccount account, long bytes)
    {
        account.UsedUnsafe += bytes;
        Interlocked.Exchange(ref _used, _used + bytes);
    }

    private sealed record Waiter(BudgetAccount Account, long Bytes)
    {
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One project's part of the <see cref="InFlightBudget"/>: what it holds and the most it may hold.</summary>
public sealed class BudgetAccount
{
    private readonly InFlightBudget _budget;
    private long _used;

    internal BudgetAccount(InFlightBudget budget, string projectId, long cap)
    {
        _budget = budget;
        ProjectId = projectId;
        Cap = cap;
    }

    public string ProjectId { get; }

    /// <summary>The most this project may hold: its share of the budget.</summary>
    public long Cap { get; }

    /// <summary>Bytes this project holds now.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Written only under the budget's lock.</summary>
    internal long UsedUnsafe
    {
        get => _used;
        set => Interlocked.Exchange(ref _used, value);
    }

    /// <summary>Whether <paramref name="bytes"/> more fit this project's share (the whole budget aside); under the budget's lock.</summary>
    internal bool ShareHasRoomUnsafe(long bytes) => UsedUnsafe + bytes <= Cap;

    /// <summary>Whether a new request would find <paramref name="bytes"/> free now; takes nothing.</summary>
    public bool HasRoom(long bytes) => _budget.HasRoom(this, bytes);

    /// <summary>Whether it is this project's share, not the whole budget, that lacks room for <paramref name="bytes"/>.</summary>
    public bool IsShareShort(long bytes) => _budget.IsShareShort(this, bytes);

    /// <summary>Takes <paramref name="bytes"/> if they are free now (see <see cref="InFlightBudget"/>).</summary>
    public bool TryAcquire(long bytes) => _budget.TryAcquire(this, bytes);

    /// <summary>Waits for <paramref name="bytes"/> and takes them.</summary>
    public ValueTask AcquireAsync(long bytes, CancellationToken cancellationToken) => _budget.AcquireAsync(this, bytes, cancellationToken);

    /// <summary>Gives <paramref name="bytes"/> back.</summary>
    public void Release(long bytes) => _budget.Release(this, bytes);
}
