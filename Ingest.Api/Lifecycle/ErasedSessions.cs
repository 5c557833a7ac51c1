using System.Collections.Concurrent;
using Ingest.Storage.Lifecycle;

namespace Ingest.Api.Lifecycle;

/// <summary>
/// The erasure tombstones in force, in memory, so that a post to an erased session (or to a session of an erased project)
/// is refused without a database round trip: the post path is hot, and must keep working while Postgres is down.
/// Loaded and kept fresh by <see cref="ErasureListener"/>; a DELETE on this instance adds its tombstone at once. A tombstone
/// stops counting at its <see cref="ErasureTombstone.KeepUntil"/> and leaves the cache at the next full load.
/// </summary>
public sealed class ErasedSessions(TimeProvider time)
{
    private readonly Lock _gate = new();
    private Tombstones _current = new();

    /// <summary>Tombstones added while a full load runs: the load's snapshot may predate them, so they are carried over.</summary>
    private List<ErasureTombstone>? _addedDuringLoad;

    private volatile bool _listening;

    /// <summary>Tombstones held (sessions and projects), expired ones included until the next full load.</summary>
    public int Count => Volatile.Read(ref _current).Count;

    /// <summary>
    /// Whether the cache is being kept fresh: loaded, and listening for other instances' erasures. False at start-up and
    /// while the database cannot be reached (the cache then holds what it last knew).
    /// </summary>
    public bool Listening => _listening;

    /// <summary>Whether posts to <paramref name="project"/>'s session <paramref name="sessionId"/> are refused now.</summary>
    public bool IsErased(string project, string sessionId)
    {
        var current = Volatile.Read(ref _current);
        if (current.Count == 0)
        {
            return false;
        }

        var now = time.GetUtcNow();
        return (current.Projects.TryGetValue(project, out var projectUntil) && projectUntil > now)
            || (current.Sessions.TryGetValue(new SessionKey(project, sessionId), out var sessionUntil) && sessionUntil > now);
    }

    /// <summary>Whether the whole of <paramref name="project"/> is erased now.</summary>
    public bool IsProjectErased(string project) =>
        Volatile.Read(ref _current).Projects.TryGetValue(project, out var until) && until > time.GetUtcNow();

    /// <summary>Adds a tombstone (or extends one already held to the later <see cref="ErasureTombstone.KeepUntil"/>).</summary>
    public void Add(ErasureTombstone tombstone)
    {
        lock (_gate)
        {
            _current.Add(tombstone);
            _addedDuringLoad?.Add(tombstone);
        }
    }

    /// <summary>
    /// Replaces the cache with what <paramref name="load"/> returns (every tombstone in force), keeping the tombstones added
    /// while it ran; expired ones are left out. On failure the cache stays as it was.
    /// </summary>
    public async Task ReloadAsync(Func<CancellationToken, Task<List<ErasureTombstone>>> load, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _addedDuringLoad = [];
        }

        try
        {
            var loaded = await load(cancellationToken);
            lock (_gate)
            {
                var now = time.GetUtcNow();
                var next = new Tombstones();
                foreach (var tombstone in loaded.Concat(_addedDuringLoad!).Where(t => t.KeepUntil > now))
                {
                    next.Add(tombstone);
                }

                Volatile.Write(ref _current, next);
            }
        }
        finally
        {
            lock (_gate)
            {
                _addedDuringLoad = null;
            }
        }
    }

    internal void SetListening(bool listening) => _listening = listening;

    private readonly record struct SessionKey(string Project, string SessionId);

    /// <summary>One generation of the cache: read without a lock, written under <see cref="_gate"/> only.</summary>
    private sealed class Tombstones
    {
        private int _count;

        public ConcurrentDictionary<SessionKey, DateTimeOffset> Sessions { get; } = new();

        public ConcurrentDictionary<string, DateTimeOffset> Projects { get; } = new(StringComparer.Ordinal);

        /// <summary>Kept here: <see cref="ConcurrentDictionary{TKey, TValue}.Count"/> takes every lock of the dictionary.</summary>
        public int Count => Volatile.Read(ref _count);

        public void Add(ErasureTombstone tombstone)
        {
            var added = tombstone.SessionId is { } sessionId
                ? Put(Sessions, new SessionKey(tombstone.Project, sessionId), tombstone.KeepUntil)
                : Put(Projects, tombstone.Project, tombstone.KeepUntil);
            if (added)
            {
                Interlocked.Increment(ref _count);
            }
        }

        /// <summary>Holds the later of the two keep-untils; true when <paramref name="key"/> is new.</summary>
        private static bool Put<TKey>(ConcurrentDictionary<TKey, DateTimeOffset> entries, TKey key, DateTimeOffset keepUntil)
            where TKey : notnull
        {
            if (entries.TryGetValue(key, out var held))
            {
                entries[key] = held > keepUntil ? held : keepUntil;
                return false;
            }

            entries[key] = keepUntil;
            return true;
        }
    }
}
