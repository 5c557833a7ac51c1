using System.Collections.Concurrent;

namespace Ingest.Faults.Tests.Harness;

/// <summary>What the recording clients did with one (session, seq): its bytes (by seed), attempts and outcome.</summary>
public sealed class SentPayload(string session, long seq, int seed, long length, DateTimeOffset firstAttemptAt)
{
    private int _attempts;

    public string Session => session;

    public long Seq => seq;

    /// <summary>Seed of its <see cref="Ingest.LoadGen.RecordingContent"/>: the same bytes on every attempt.</summary>
    public int Seed => seed;

    public long Length => length;

    public DateTimeOffset FirstAttemptAt => firstAttemptAt;

    /// <summary>When it got its (first) 202; null when it never did.</summary>
    public DateTimeOffset? AcceptedAt { get; private set; }

    /// <summary>The last answer that was not a 202 (a status code, "no answer", "aborted by the client").</summary>
    public string? LastError { get; private set; }

    public int Attempts => Volatile.Read(ref _attempts);

    public void Attempted() => Interlocked.Increment(ref _attempts);

    public void Accepted() => AcceptedAt ??= DateTimeOffset.UtcNow;

    public void Failed(string error) => LastError = error;
}

/// <summary>Every payload the clients tried to send, and the answers they got, for the invariant check.</summary>
public sealed class Ledger
{
    private readonly ConcurrentDictionary<(string Session, long Seq), SentPayload> _sent = new();
    private readonly ConcurrentDictionary<string, long> _answers = new(StringComparer.Ordinal);

    public IReadOnlyCollection<SentPayload> Sent => (IReadOnlyCollection<SentPayload>)_sent.Values;

    /// <summary>Answers by kind ("202", "429", "503", "no answer", …) over all attempts.</summary>
    public IReadOnlyDictionary<string, long> Answers => _answers;

    public long AcceptedCount => _sent.Values.Count(p => p.AcceptedAt is not null);

    public SentPayload Begin(string session, long seq, int seed, long length) =>
        _sent.GetOrAdd((session, seq), _ => new SentPayload(session, seq, seed, length, DateTimeOffset.UtcNow));

    public SentPayload? Find(string session, long seq) => _sent.GetValueOrDefault((session, seq));

    public void Answer(string kind) => _answers.AddOrUpdate(kind, 1, (_, n) => n + 1);

    /// <summary>Accepted payloads whose first attempt fell in [from, to].</summary>
    public IEnumerable<SentPayload> AcceptedBetween(DateTimeOffset from, DateTimeOffset to) =>
        _sent.Values.Where(p => p.AcceptedAt is not null && p.FirstAttemptAt >= from && p.FirstAttemptAt <= to);
}
