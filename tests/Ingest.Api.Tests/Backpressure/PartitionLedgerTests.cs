using Ingest.Api.Backpressure;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Api.Tests.Backpressure;

/// <summary>The backlog guard's per-partition arithmetic: reservations, deliveries, the monitor's looks and the waiters.</summary>
public sealed class PartitionLedgerTests
{
    private static readonly BacklogLimit Limit = new(Bytes: 1000, Messages: 10, UnknownMessageBytes: 300);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Own_messages_count_from_reservation_until_the_committed_offset_passes_them()
    {
        var ledger = new PartitionLedger(0, _time);
        await ledger.ReserveAsync(400, () => Limit, TestContext.Current.CancellationToken);
        await ledger.ReserveAsync(400, () => Limit, TestContext.Current.CancellationToken);

        Assert.Equal(800, ledger.View(Limit).Bytes);

        ledger.Delivered(offset: 0, bytes: 400);
        ledger.Delivered(offset: 1, bytes: 400);
        ledger.Observe(committed: 0, end: 2, Limit);
        Assert.Equal((800, 2), (ledger.View(Limit).Bytes, ledger.View(Limit).Messages));

        ledger.Observe(committed: 2, end: 2, Limit);
        Assert.Equal((0, 0), (ledger.View(Limit).Bytes, ledger.View(Limit).Messages));
    }

    [Fact]
    public void Messages_of_other_producers_count_at_this_apis_average_size_or_the_assumed_size_before_any()
    {
        var ledger = new PartitionLedger(0, _time);
        ledger.Observe(committed: 10, end: 12, Limit);
        Assert.Equal(600, ledger.View(Limit).Bytes); // two unknown messages at 300 bytes

        ledger.Delivered(offset: 12, bytes: 100);
        ledger.Observe(committed: 10, end: 13, Limit);
        Assert.Equal((300, 3), (ledger.View(Limit).Bytes, ledger.View(Limit).Messages)); // 100 own + 2 × 100 average
    }

    [Fact]
    public void A_delivery_the_last_look_already_counted_is_not_counted_twice()
    {
        var ledger = new PartitionLedger(0, _time);
        ledger.Observe(committed: 0, end: 1, Limit); // offset 0 seen in the log before its delivery report came
        ledger.Delivered(offset: 0, bytes: 200);

        Assert.Equal((200, 1), (ledger.View(Limit).Bytes, ledger.View(Limit).Messages));
    }

    [Fact]
    public async Task A_waiter_gets_room_when_the_workers_commit_and_waiters_go_in_arrival_order()
    {
        var ct = TestContext.Current.CancellationToken;
        var ledger = new PartitionLedger(0, _time);
        await ledger.ReserveAsync(900, () => Limit, ct);
        ledger.Delivered(offset: 0, bytes: 900);

        var first = ledger.ReserveAsync(500, () => Limit, ct).AsTask();
        var second = ledger.ReserveAsync(50, () => Limit, ct).AsTask();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted); // it would fit, but nobody jumps the queue

        ledger.Observe(committed: 1, end: 1, Limit);
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal(550, ledger.View(Limit).Bytes);
    }

    [Fact]
    public async Task A_waiter_that_gives_up_leaves_the_queue_and_a_failed_produce_gives_its_room_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var ledger = new PartitionLedger(0, _time);
        await ledger.ReserveAsync(900, () => Limit, ct);
        using var giveUp = new CancellationTokenSource();
        var waiting = ledger.ReserveAsync(500, () => Limit, giveUp.Token).AsTask();

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, ledger.View(Limit).Waiting);

        ledger.Failed(900, Limit);
        Assert.Equal((0, 0), (ledger.View(Limit).Bytes, ledger.View(Limit).Messages));
    }

    [Fact]
    public async Task A_message_larger_than_the_limit_goes_alone_and_the_message_limit_binds_too()
    {
        var ct = TestContext.Current.CancellationToken;
        var ledger = new PartitionLedger(0, _time);
        await ledger.ReserveAsync(5000, () => Limit, ct); // nothing else outstanding: it goes
        Assert.False(ledger.ReserveAsync(1, () => Limit, ct).IsCompleted);
        ledger.Failed(5000, Limit);

        var ten = new PartitionLedger(0, _time);
        for (var i = 0; i < Limit.Messages; i++)
        {
            await ten.ReserveAsync(1, () => Limit, ct);
        }

        Assert.False(ten.ReserveAsync(1, () => Limit, ct).IsCompleted); // ten messages of one byte: the count is spent, not the bytes
    }

    [Fact]
    public void Runs_are_forgotten_only_once_the_committed_offset_passes_their_last_message()
    {
        var ledger = new PartitionLedger(0, _time);
        for (var offset = 0; offset < 100; offset++)
        {
            ledger.Delivered(offset, bytes: 10);
        }

        ledger.Observe(committed: 50, end: 100, Limit); // the first run (0–63) still holds uncommitted messages
        Assert.Equal(100, ledger.View(Limit).Messages);

        ledger.Observe(committed: 64, end: 100, Limit);
        Assert.Equal((36, 360), (ledger.View(Limit).Messages, ledger.View(Limit).Bytes));
    }

    [Fact]
    public async Task With_the_guard_off_a_waiter_is_let_go()
    {
        var ct = TestContext.Current.CancellationToken;
        var ledger = new PartitionLedger(0, _time);
        await ledger.ReserveAsync(900, () => Limit, ct);
        var waiting = ledger.ReserveAsync(500, () => Limit, ct).AsTask();

        ledger.Grant(limit: null);

        await waiting.WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Fact]
    public async Task A_partition_is_stalled_only_when_nothing_could_be_reserved_there_for_the_whole_wait()
    {
        var ct = TestContext.Current.CancellationToken;
        var ledger = new PartitionLedger(0, _time);
        await ledger.ReserveAsync(900, () => Limit, ct);
        ledger.Delivered(offset: 0, bytes: 900);
        var waiting = ledger.ReserveAsync(500, () => Limit, ct).AsTask();

        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(ledger.IsStalled(Limit, TimeSpan.FromSeconds(5))); // full, but room came 4 s ago

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(ledger.IsStalled(Limit, TimeSpan.FromSeconds(5)));

        ledger.Observe(committed: 1, end: 1, Limit); // the workers stored it: the waiter goes in, room came just now
        await waiting.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.False(ledger.IsStalled(Limit, TimeSpan.FromSeconds(5)));
    }
}
