using Ingest.Testing;
using Ingest.Worker.Consuming;
using Ingest.Worker.Startup;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>The batch logic (poison isolation, order, dead-letter reasons) on the <see cref="IBatchSink"/> seam; storing itself is covered against Postgres.</summary>
public sealed class BatchProcessorTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);

    [Fact]
    public async Task A_batch_the_database_accepts_is_stored_in_one_call_in_offset_order()
    {
        var sink = new FakeBatchSink(_time);

        await Processor(sink).ProcessAsync([.. Enumerable.Range(0, 5).Select(o => LaneMessages.Payload(o, Start))], () => { }, TestContext.Current.CancellationToken);

        Assert.Equal([[0, 1, 2, 3, 4]], sink.Calls);
        Assert.Empty(sink.DeadLetters);
    }

    [Fact]
    public async Task A_poison_payload_is_isolated_and_the_rest_stored_in_order()
    {
        var sink = new FakeBatchSink(_time) { Refuses = offsets => offsets.Contains(5), CallTakes = TimeSpan.FromSeconds(1) };

        await Processor(sink).ProcessAsync([.. Enumerable.Range(0, 8).Select(o => LaneMessages.Payload(o, Start))], () => { }, TestContext.Current.CancellationToken);

        Assert.Equal([0, 1, 2, 3, 4, 6, 7], sink.Stored);
        // Halves in offset order, the failing one split again, the culprit tried alone until PoisonAttempts (3) in all.
        Assert.Equal([[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7], [4, 5], [4], [5], [5], [5], [6, 7]], sink.Calls);
        var (offset, reason) = Assert.Single(sink.DeadLetters);
        Assert.Equal(5, offset);
        Assert.Equal(3, reason.Attempts);
        Assert.Contains("check constraint", reason.Error, StringComparison.Ordinal);
        Assert.Null(reason.ChunkOffsets); // a whole payload: no staged chunks to keep
        // First failed when it was first tried alone (the 6th call, at 5 s): that counts as its first attempt.
        Assert.Equal(Start.AddSeconds(5), reason.FirstFailedAt);
        Assert.Equal(Start.AddSeconds(9), reason.LastFailedAt);
    }

    [Fact]
    public async Task A_payload_that_heals_on_its_own_is_stored_and_not_dead_lettered()
    {
        var refusals = 0;
        var sink = new FakeBatchSink(_time) { Refuses = offsets => offsets.Contains(1) && Interlocked.Increment(ref refusals) <= 3 };

        await Processor(sink).ProcessAsync([.. Enumerable.Range(0, 2).Select(o => LaneMessages.Payload(o, Start))], () => { }, TestContext.Current.CancellationToken);

        // [0, 1] and [1] refused, then [1] on its third attempt in all stored.
        Assert.Equal([0, 1], sink.Stored);
        Assert.Empty(sink.DeadLetters);
    }

    [Fact]
    public async Task Messages_without_an_envelope_never_reach_the_store_and_are_dead_lettered_in_offset_order_after_it()
    {
        var sink = new FakeBatchSink(_time) { Refuses = offsets => offsets.Contains(2) };
        var messages = new[]
        {
            LaneMessages.Payload(0, Start), LaneMessages.Garbage(1), LaneMessages.Payload(2, Start), LaneMessages.Garbage(3),
        };

        await Processor(sink).ProcessAsync(messages, () => { }, TestContext.Current.CancellationToken);

        Assert.Equal([0], sink.Stored);
        Assert.All(sink.Calls, call => Assert.DoesNotContain(1, call));
        Assert.Equal([1, 2, 3], sink.DeadLetters.Select(d => d.Offset));
        var garbage = sink.DeadLetters[0].Reason;
        Assert.Equal(1, garbage.Attempts);
        Assert.Equal(_time.GetUtcNow(), garbage.FirstFailedAt);
    }

    [Fact]
    public async Task A_batch_of_nothing_but_poison_is_dead_lettered_without_a_store_call()
    {
        var sink = new FakeBatchSink(_time);

        await Processor(sink).ProcessAsync([LaneMessages.Garbage(7)], () => { }, TestContext.Current.CancellationToken);

        Assert.Empty(sink.Calls);
        Assert.Equal(7, Assert.Single(sink.DeadLetters).Offset);
    }

    [Fact]
    public async Task The_stall_callback_reaches_the_store_with_the_batch()
    {
        var sink = new FakeBatchSink(_time) { Stalls = 1, Backoff = TimeSpan.FromSeconds(1) };
        var stalls = 0;

        var processing = Processor(sink).ProcessAsync([LaneMessages.Payload(0, Start)], () => Interlocked.Increment(ref stalls), TestContext.Current.CancellationToken);
        await Eventually.UntilAsync(() => Volatile.Read(ref stalls), s => s == 1, TimeSpan.FromSeconds(10), s => $"stalls {s}", TestContext.Current.CancellationToken);
        Assert.False(processing.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        await processing;

        Assert.Equal([0], sink.Stored);
    }

    internal static BatchProcessor Processor(FakeBatchSink sink, TimeProvider time) => new(
        sink,
        Options.Create(new WorkerOptions { PoisonAttempts = 3 }),
        new WorkerTelemetry(),
        new StartupTimeline(NullLogger<StartupTimeline>.Instance),
        time,
        NullLogger<BatchProcessor>.Instance);

    private BatchProcessor Processor(FakeBatchSink sink) => Processor(sink, _time);
}
