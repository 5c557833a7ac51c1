using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;
using Ingest.Storage.Batches;
using Ingest.Storage.Payloads;
using Ingest.Worker.Consuming;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>
/// A test double of the <see cref="IBatchSink"/> seam, not of Postgres: every payload it is given counts as a new row
/// unless <see cref="Refuses"/> says the call fails with a data error (SQLSTATE 23514), the first
/// <see cref="Stalls"/> calls wait for the database (they report the stall, then wait <see cref="Backoff"/> on the fake
/// clock, as the store's retry would); each call takes <see cref="CallTakes"/> of fake time. It records what it was asked.
/// </summary>
internal sealed class FakeBatchSink(FakeTimeProvider time) : IBatchSink
{
    private readonly Lock _gate = new();
    private readonly List<long[]> _calls = [];
    private readonly List<long> _stored = [];
    private readonly List<(long Offset, DeadLetterReason Reason)> _deadLetters = [];
    private readonly List<long> _kept = [];
    private int _stallsLeft;

    /// <summary>Whether a call with these offsets is refused by a data error.</summary>
    public Func<IReadOnlyList<long>, bool> Refuses { get; init; } = _ => false;

    public int Stalls { get => _stallsLeft; init => _stallsLeft = value; }

    public TimeSpan Backoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan CallTakes { get; init; }

    public IReadOnlyList<long[]> Calls => Snapshot(_calls);

    public IReadOnlyList<long> Stored => Snapshot(_stored);

    public IReadOnlyList<(long Offset, DeadLetterReason Reason)> DeadLetters => Snapshot(_deadLetters);

    public IReadOnlyList<long> KeptUploads => Snapshot(_kept);

    public async Task<StoredBatch> StoreAsync(
        IReadOnlyList<IncomingPayload> payloads, DateTimeOffset? abandonBefore, Action? onStall, CancellationToken cancellationToken)
    {
        var offsets = payloads.Select(p => p.Offset).ToArray();
        lock (_gate)
        {
            _calls.Add(offsets);
        }

        while (Interlocked.Decrement(ref _stallsLeft) >= 0)
        {
            var retry = Task.Delay(Backoff, time, cancellationToken); // the timer exists before the stall is seen
            onStall?.Invoke();
            await retry;
        }

        time.Advance(CallTakes);
        if (Refuses(offsets))
        {
            throw new PostgresException("new row violates check constraint", "ERROR", "ERROR", "23514");
        }

        lock (_gate)
        {
            _stored.AddRange(offsets);
        }

        return new StoredBatch([.. payloads.Select(_ => new StoreResult(StoreOutcome.Stored))], []);
    }

    public Task<string> KeepRefusedUploadAsync(IncomingPayload chunk, string error, Action? onStall, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _kept.Add(chunk.Offset);
        }

        return Task.FromResult($"{chunk.Partition}@{chunk.Offset}");
    }

    public Task DeadLetterAsync(ConsumeResult<byte[]?, byte[]?> message, DeadLetterReason reason, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _deadLetters.Add((message.Offset.Value, reason));
        }

        return Task.CompletedTask;
    }

    private List<T> Snapshot<T>(List<T> list)
    {
        lock (_gate)
        {
            return [.. list];
        }
    }
}
