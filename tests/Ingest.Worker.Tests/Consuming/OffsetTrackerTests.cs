using Ingest.Worker.Consuming;

namespace Ingest.Worker.Tests.Consuming;

public sealed class OffsetTrackerTests
{
    [Fact]
    public void Nothing_finished_means_nothing_to_commit()
    {
        var tracker = new OffsetTracker();
        tracker.Dispatched(0);

        Assert.False(tracker.TryGetCommit(out _));
    }

    [Fact]
    public void Commit_value_is_last_contiguous_finished_plus_one()
    {
        var tracker = Dispatch(10, 11, 12);
        tracker.Finished(10);
        tracker.Finished(11);

        Assert.True(tracker.TryGetCommit(out var next));
        Assert.Equal(12, next);
    }

    [Fact]
    public void Out_of_order_finish_waits_for_the_earlier_offset()
    {
        var tracker = Dispatch(0, 1, 2, 3);
        tracker.Finished(2);
        tracker.Finished(3);
        Assert.False(tracker.TryGetCommit(out _));

        tracker.Finished(1);
        Assert.False(tracker.TryGetCommit(out _));

        tracker.Finished(0);
        Assert.True(tracker.TryGetCommit(out var next));
        Assert.Equal(4, next);
        Assert.Equal(0, tracker.PendingCount);
    }

    [Fact]
    public void Gaps_in_offsets_do_not_block_the_commit()
    {
        // Compaction and transaction markers leave offsets that are never delivered.
        var tracker = Dispatch(5, 7, 8, 20);
        tracker.Finished(5);
        tracker.Finished(7);
        tracker.Finished(8);

        Assert.True(tracker.TryGetCommit(out var next));
        Assert.Equal(9, next);
    }

    [Fact]
    public void A_finished_gap_before_an_unfinished_offset_does_not_move_past_it()
    {
        var tracker = Dispatch(5, 7, 9);
        tracker.Finished(5);
        tracker.Finished(9);

        Assert.True(tracker.TryGetCommit(out var next));
        Assert.Equal(6, next);
    }

    [Fact]
    public void Committed_value_is_not_offered_again_until_progress()
    {
        var tracker = Dispatch(0, 1);
        tracker.Finished(0);
        Assert.True(tracker.TryGetCommit(out var first));
        tracker.MarkCommitted(first);

        Assert.False(tracker.TryGetCommit(out _));
        tracker.Finished(1);
        Assert.True(tracker.TryGetCommit(out var second));
        Assert.Equal(2, second);
    }

    [Fact]
    public void Offsets_never_dispatched_or_already_covered_are_ignored()
    {
        var tracker = Dispatch(0, 1);
        tracker.Finished(0);
        tracker.Finished(0);
        tracker.Finished(99);

        Assert.True(tracker.TryGetCommit(out var next));
        Assert.Equal(1, next);
        Assert.Equal(1, tracker.PendingCount);
    }

    [Fact]
    public void Dispatch_must_increase()
    {
        var tracker = Dispatch(3);

        Assert.Throws<ArgumentOutOfRangeException>(() => tracker.Dispatched(3));
        Assert.Equal(3, tracker.LastDispatched);
    }

    [Fact]
    public async Task Concurrent_finishes_commit_everything()
    {
        var tracker = new OffsetTracker();
        for (var i = 0; i < 10_000; i++)
        {
            tracker.Dispatched(i);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = worker; i < 10_000; i += 4)
            {
                tracker.Finished(i);
            }
        })));

        Assert.True(tracker.TryGetCommit(out var next));
        Assert.Equal(10_000, next);
    }

    private static OffsetTracker Dispatch(params long[] offsets)
    {
        var tracker = new OffsetTracker();
        foreach (var offset in offsets)
        {
            tracker.Dispatched(offset);
        }

        return tracker;
    }
}
