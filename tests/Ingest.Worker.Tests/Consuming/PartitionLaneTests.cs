using Confluent.Kafka;
using Ingest.Testing;
using Ingest.Worker.Consuming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>A lane on its own: order, budgets, its pause state and its start and stop, without a broker or a database.</summary>
public sealed class PartitionLaneTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly RecordingLaneOwner _owner = new();

    [Fact]
    public async Task A_partitions_messages_are_processed_strictly_in_order_one_batch_at_a_time()
    {
        var seen = new List<long>();
        var batches = new List<int>();
        var running = 0;
        var lane = Lane(new WorkerOptions { MaxBatchMessages = 7, LaneCapacity = 1000 }, async (batch, _, _) =>
        {
            Assert.Equal(1, Interlocked.Increment(ref running));
            batches.Add(batch.Count);
            seen.AddRange(batch.Select(m => m.Offset.Value));
            await Task.Yield();
            Interlocked.Decrement(ref running);
        });

        lane.Start();
        for (var offset = 0; offset < 500; offset++)
        {
            lane.Offer(LaneMessages.Sized(offset, 10));
        }

        await lane.DrainAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(Enumerable.Range(0, 500).Select(o => (long)o), seen);
        Assert.All(batches, count => Assert.InRange(count, 1, 7));
        Assert.True(lane.Offsets.TryGetCommit(out var next));
        Assert.Equal(500, next);
        Assert.Equal(0, lane.QueuedBytes);
        Assert.Empty(_owner.Calls); // never full
    }

    [Fact]
    public async Task Nothing_is_processed_before_start_and_a_redelivered_offset_is_not_queued_twice()
    {
        var seen = new List<long>();
        var lane = Lane(new WorkerOptions(), (batch, _, _) =>
        {
            seen.AddRange(batch.Select(m => m.Offset.Value));
            return Task.CompletedTask;
        });

        lane.Offer(LaneMessages.Sized(0, 1));
        lane.Offer(LaneMessages.Sized(1, 1));
        lane.Offer(LaneMessages.Sized(1, 1)); // a re-fetch after a seek: already in flight here
        Assert.True(lane.Completion.IsCompleted); // not started: nothing runs
        Assert.Empty(seen);

        lane.Start();
        Assert.Throws<InvalidOperationException>(lane.Start);
        await lane.DrainAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal([0, 1], seen);
    }

    [Fact]
    public async Task A_full_lane_holds_messages_and_pauses_its_partition_until_it_has_room()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new List<long>();
        var lane = Lane(new WorkerOptions { MaxBatchMessages = 2, LaneCapacity = 2 }, async (batch, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            seen.AddRange(batch.Select(m => m.Offset.Value));
        });
        lane.Start();

        for (var offset = 0; offset < 6; offset++)
        {
            lane.Offer(LaneMessages.Sized(offset, 1));
        }

        Assert.True(lane.Paused);
        Assert.Equal(["pause 0"], _owner.Calls); // once, however many are held
        lane.UpdatePause();
        Assert.True(lane.Paused); // still no room: the first batch waits

        gate.SetResult();
        await Eventually.UntilAsync(
            () => { lane.UpdatePause(); return lane.Paused; }, paused => !paused, Deadline, _ => "still paused", TestContext.Current.CancellationToken);
        await lane.DrainAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(["pause 0", "resume 0"], _owner.Calls);
        Assert.Equal([0, 1, 2, 3, 4, 5], seen);
    }

    [Fact]
    public async Task A_lane_larger_than_its_byte_budget_pauses_and_one_oversized_message_still_goes_alone()
    {
        var batches = new List<long[]>();
        var lane = Lane(new WorkerOptions { LaneCapacityBytes = 100, MaxBatchBytes = 100 }, (batch, _, _) =>
        {
            batches.Add([.. batch.Select(m => m.Offset.Value)]);
            return Task.CompletedTask;
        });

        lane.Offer(LaneMessages.Sized(0, 500)); // larger than both budgets, into an empty lane: queued
        lane.Offer(LaneMessages.Sized(1, 10)); // no room behind it: held, partition paused
        Assert.Equal(["pause 0"], _owner.Calls);

        lane.Start();
        await Eventually.UntilAsync(
            () => { lane.UpdatePause(); return lane.Paused; }, paused => !paused, Deadline, _ => "still paused", TestContext.Current.CancellationToken);
        await lane.DrainAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal([[0], [1]], batches);
    }

    [Fact]
    public async Task A_transient_store_failure_pauses_the_partition_and_is_retried_only_when_the_back_off_has_passed()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        var sink = new FakeBatchSink(time) { Stalls = 1, Backoff = TimeSpan.FromMilliseconds(100) };
        var lane = Lane(new WorkerOptions(), BatchProcessorTests.Processor(sink, time).ProcessAsync);
        lane.Start();
        lane.Offer(LaneMessages.Payload(0, start));
        lane.Offer(LaneMessages.Payload(1, start));

        await Eventually.UntilAsync(() => lane.Stalled, stalled => stalled, Deadline, _ => "never stalled", TestContext.Current.CancellationToken);
        lane.UpdatePause();
        Assert.True(lane.Paused);
        Assert.Equal(["pause 0"], _owner.Calls);

        time.Advance(TimeSpan.FromMilliseconds(99));
        lane.UpdatePause();
        Assert.Empty(sink.Stored);
        Assert.False(lane.Offsets.TryGetCommit(out _)); // nothing new is committed while the database is away
        Assert.True(lane.Paused);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var next = await Eventually.UntilAsync(
            () => lane.Offsets.TryGetCommit(out var n) ? n : -1, n => n == 2, Deadline, n => $"commit at {n}", TestContext.Current.CancellationToken);
        lane.UpdatePause();

        Assert.Equal(2, next);
        Assert.Equal([0, 1], sink.Stored);
        Assert.False(lane.Stalled);
        Assert.Equal(["pause 0", "resume 0"], _owner.Calls);
        await lane.DrainAsync().WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Abort_cancels_the_batch_in_progress_and_finishes_nothing()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lane = Lane(new WorkerOptions(), async (_, _, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        lane.Start();
        lane.Offer(LaneMessages.Sized(0, 1));
        await started.Task.WaitAsync(Deadline, TestContext.Current.CancellationToken);

        lane.Abort();
        await lane.Completion.WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.False(lane.Offsets.TryGetCommit(out _));
        Assert.Empty(_owner.Calls); // cancelled, not faulted
    }

    [Fact]
    public async Task A_failing_lane_reports_its_fault_to_its_owner()
    {
        var lane = Lane(new WorkerOptions(), (_, _, _) => throw new InvalidOperationException("bug"));
        lane.Start();
        lane.Offer(LaneMessages.Sized(0, 1));

        await lane.Completion.WaitAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(["fault 0: bug"], _owner.Calls);
        Assert.False(lane.Offsets.TryGetCommit(out _));
    }

    [Fact]
    public void Releasing_a_pause_resumes_the_partition_and_a_refused_resume_leaves_it_paused()
    {
        var lane = Lane(new WorkerOptions { LaneCapacity = 1 }, (_, _, _) => Task.CompletedTask);
        lane.ReleasePause();
        Assert.Empty(_owner.Calls); // not paused: nothing to release

        lane.Offer(LaneMessages.Sized(0, 1));
        lane.Offer(LaneMessages.Sized(1, 1)); // not started, capacity 1: held
        _owner.ResumeFails = new KafkaException(ErrorCode.Local_UnknownPartition);
        lane.ReleasePause();
        Assert.True(lane.Paused);

        _owner.ResumeFails = null;
        lane.ReleasePause();
        Assert.False(lane.Paused);
        Assert.Equal(["pause 0", "resume 0"], _owner.Calls);
    }

    private PartitionLane Lane(
        WorkerOptions options, Func<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>, Action, CancellationToken, Task> process) =>
        new(LaneMessages.Partition, options, process, _owner, NullLogger.Instance);
}
