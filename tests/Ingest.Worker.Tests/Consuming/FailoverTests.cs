using System.Diagnostics;
using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Testing;
using static Ingest.Worker.Tests.Support.Failover;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>
/// Two workers as child processes under continuous load, on the suite's broker when it is a real Kafka (else on a mock
/// cluster of the test's own): a graceful stop, a SIGKILL, a SIGKILL and restart with the same
/// <c>group.instance.id</c>, and a join, under each rebalance protocol. Every payload is stored exactly once and in
/// order; the longest time any partition went without a stored row is measured (<see cref="MeasurementLog"/>) and
/// held to a generous bound derived from the group's timing on that broker (<see cref="GroupTiming"/>).
/// </summary>
[Collection(OutageCollection.Name)]
public sealed class FailoverTests(KafkaFixture kafka)
{
    [Theory]
    [InlineData("classic")]
    [InlineData("consumer")]
    public async Task A_graceful_stop_hands_its_partitions_over_and_everything_is_stored_once_in_order(string protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(kafka, partitions: 4, ct);
        var timing = await GroupTiming.ReadAsync(stack, protocol);
        var (staying, leaving, load) = await StartTwoUnderLoadAsync(stack, ProtocolArgs(protocol), ProtocolArgs(protocol), ct);
        await using var loading = load;
        var before = await RedeliveriesAsync(staying);

        var stop = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(60)));
        var exited = clock.Elapsed;
        var pause = await PauseSinceAsync(stack, stop, timing, ct);
        var redeliveries = await RedeliveriesAsync(staying) - before;

        await FinishAsync(stack, load, ct);
        Report(timing, "graceful stop", pause, 1, $"{redeliveries} redeliveries; the stopping worker exited in {exited.TotalMilliseconds:0} ms");
        Assert.True(pause < timing.HeartbeatBound, $"pause {pause} ({timing})");
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("consumer")]
    public async Task A_SIGKILLed_worker_s_partitions_move_once_its_session_expires(string protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(kafka, partitions: 4, ct);
        var timing = await GroupTiming.ReadAsync(stack, protocol);
        var (staying, killed, load) = await StartTwoUnderLoadAsync(stack, ProtocolArgs(protocol), ProtocolArgs(protocol), ct);
        await using var loading = load;
        var before = await RedeliveriesAsync(staying);

        var kill = DateTimeOffset.UtcNow;
        await killed.KillAsync(); // no drain, no commit, no leave: the coordinator notices only when the session expires
        var pause = await PauseSinceAsync(stack, kill, timing, ct);
        var redeliveries = await RedeliveriesAsync(staying) - before;

        await FinishAsync(stack, load, ct);
        Report(timing, "SIGKILL, no restart", pause, timing.Session.TotalSeconds + 1, $"{redeliveries} redeliveries");
        Assert.True(pause < timing.SessionBound, $"pause {pause} ({timing})");
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("consumer")]
    public async Task A_SIGKILLed_static_member_restarted_with_its_instance_id_gets_partitions_back_and_its_graceful_stop_waits_for_the_session(string protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(kafka, partitions: 4, ct);
        var timing = await GroupTiming.ReadAsync(stack, protocol);
        var staticArgs = ProtocolArgs(protocol, instanceId: "worker-2");
        var (staying, crashing, load) = await StartTwoUnderLoadAsync(stack, ProtocolArgs(protocol), staticArgs, ct);
        await using var loading = load;
        var owned = Owned(crashing);
        var changesBefore = AssignmentChanges(staying);
        var before = await RedeliveriesAsync(staying);

        var kill = DateTimeOffset.UtcNow;
        await crashing.KillAsync();
        var restarted = await stack.StartWorkerAsync(ct, staticArgs);
        var pause = await PauseSinceAsync(stack, kill, timing, ct);
        var redeliveries = await RedeliveriesAsync(staying, restarted) - before;
        var rebalanced = AssignmentChanges(staying) > changesBefore;
        await WaitForSettledAsync(stack, [staying, restarted], ct); // under KIP-848 it gets partitions after the survivor did
        var startup = await Eventually.UntilAsync(
            () => StartupTimeline(restarted), t => t.Any(p => p.Phase == "FirstBatchStored"), TimeSpan.FromSeconds(30),
            t => $"the restarted worker stored nothing: {string.Join(", ", t)}", ct);
        var ownedAfter = Owned(restarted);

        // A static member's graceful stop keeps its partitions for its return until the session expires (KIP-848 leave
        // with epoch -2; librdkafka's classic static members send no LeaveGroup at all, KIP-345).
        var stop = DateTimeOffset.UtcNow;
        Assert.Equal(0, await restarted.TerminateAsync(TimeSpan.FromSeconds(60)));
        var stopPause = await PauseSinceAsync(stack, stop, timing, ct);

        await FinishAsync(stack, load, ct);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"restarted worker's start-up ({timing}): {string.Join(", ", startup.Select(p => $"{p.Phase} {p.Milliseconds:0} ms"))}");
        foreach (var (phase, milliseconds) in startup)
        {
            MeasurementLog.Record(new($"start-up after SIGKILL, static member: {phase} ({Label(timing)})", milliseconds / 1000, "s", null,
                "time since the restarted worker's process started"));
        }

        Report(timing, "SIGKILL + restart, same group.instance.id", pause, timing.IsClassic ? 2 : null,
            $"{redeliveries} redeliveries; the survivor {(rebalanced ? "took part in a rebalance" : "saw no rebalance")}");
        Report(timing, "graceful stop of a static member", stopPause, null, "kept for its return until the session expires, by design");
        if (timing.IsClassic && !timing.IsMock)
        {
            // KIP-345 on a real broker: the coordinator replaces the crashed member by its instance id and hands its
            // assignment back without a rebalance, so the restart costs only the worker's own start-up. (The mock's classic
            // group finds members by member id only: there the restart joins beside the crashed member, then rebalances.)
            // Unless the restart was slower than the session (a machine loaded many times over): then the crashed member
            // expired first, and its partitions moved and came back as for any member.
            var subscribed = startup.FirstOrDefault(p => p.Phase == "Subscribed").Milliseconds;
            if (TimeSpan.FromMilliseconds(subscribed) < timing.Session - TimeSpan.FromSeconds(1))
            {
                Assert.False(rebalanced, $"the survivor rebalanced though the restart subscribed after {subscribed:0} ms:\n{staying.Output}");
                Assert.Equal(owned.Order(), ownedAfter.Order());
            }

            Assert.True(pause < TimeSpan.FromSeconds(15), $"pause {pause} ({timing}); start-up {string.Join(", ", startup)}");
        }
        else
        {
            Assert.True(pause < timing.SessionBound, $"pause {pause} ({timing})");
        }

        if (!timing.IsClassic && !timing.IsMock)
        {
            // A real KIP-848 coordinator refuses the instance id until the crashed one's session expires; the worker joins
            // again instead of exiting (the next test injects that answer on the mock, which gives another one).
            Assert.Contains("refuses group.instance.id worker-2", restarted.Output, StringComparison.Ordinal);
        }

        Assert.True(stopPause < timing.SessionBound, $"static stop pause {stopPause} ({timing})");
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("consumer")]
    public async Task A_worker_joining_under_load_takes_partitions_and_the_group_settles(string protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(kafka, partitions: 4, ct);
        var timing = await GroupTiming.ReadAsync(stack, protocol);
        var first = await stack.StartWorkerAsync(ct, ProtocolArgs(protocol));
        await using var load = new ContinuousLoad(stack, Sessions);
        await WaitForSettledAsync(stack, [first], ct);
        await WaitForProgressAsync(stack, 400, ct);

        var join = DateTimeOffset.UtcNow;
        var second = await stack.StartWorkerAsync(ct, ProtocolArgs(protocol));
        await WaitForSettledAsync(stack, [first, second], ct);
        var settled = DateTimeOffset.UtcNow;
        await WaitForAllPartitionsAsync(stack, settled, timing, ct);
        var pause = await ContinuousLoad.LongestPauseAsync(stack.ConnectionString, join, DateTimeOffset.UtcNow, ct);
        var latency = await ContinuousLoad.LongestLatencyAsync(stack.ConnectionString, join, settled, ct);

        await FinishAsync(stack, load, ct);
        var settle = settled - join;
        Report(timing, "a worker joins, until the group settles", settle, null, "from the joining worker's process start");
        Report(timing, "a worker joins: longest received → stored", latency, null, $"longest partition pause {pause.TotalSeconds:0.00} s");
        // The joiner's start-up, then two rounds: cooperative-sticky revokes in one rebalance and assigns in the next (each
        // held session − 1 s on the mock); under KIP-848 the owner's next heartbeat revokes and the joiner's next assigns.
        Assert.True(settle < (2 * (timing.Heartbeat + timing.RebalanceWait)) + (2 * GroupTiming.Slack), $"settled after {settle} ({timing})");
    }

    [Fact]
    public async Task A_restarted_static_member_refused_as_unreleased_joins_again_instead_of_exiting()
    {
        var ct = TestContext.Current.CancellationToken;
        // A mock cluster of its own, on any suite broker: the real KIP-848 answer to a static member restarted while its
        // crashed instance's session lasts is UNRELEASED_INSTANCE_ID (the test above meets it on a real broker), which
        // librdkafka makes fatal; the mock answers UNKNOWN_MEMBER_ID instead (rdkafka_mock_cgrp.c), so the real answer
        // is injected here, three times in a row.
        await using var stack = await IsolatedStack.CreateAsync(partitions: 4, ct);
        stack.Mock!.PushRequestErrors(
            KafkaApiKey.ConsumerGroupHeartbeat, ErrorCode.UnreleasedInstanceId, ErrorCode.UnreleasedInstanceId, ErrorCode.UnreleasedInstanceId);
        var worker = await stack.StartWorkerAsync(ct, ProtocolArgs("consumer", instanceId: "worker-1"));
        var produced = new Dictionary<string, int>();
        for (var s = 0; s < Sessions; s++)
        {
            for (var seq = 0; seq < 5; seq++)
            {
                await stack.ProduceAsync($"static-{s}", seq, [(byte)s, (byte)seq], ct);
            }

            produced[$"static-{s}"] = 5;
        }

        await Eventually.UntilAsync(
            () => stack.Database.CountAsync(ct), n => n == Sessions * 5 || worker.HasExited, TimeSpan.FromSeconds(60),
            n => $"{n} stored; worker:\n{worker.Output}", ct);
        Assert.False(worker.HasExited, $"The worker exited:\n{worker.Output}");
        Assert.Contains("refuses group.instance.id worker-1", worker.Output, StringComparison.Ordinal);
        await stack.AssertStoredInOrderAsync(produced, ct);
    }
}
