using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Testing;
using Ingest.Testing.MockKafka;
using Npgsql;

namespace Ingest.Worker.Tests;

/// <summary>
/// Workers as child processes under continuous load: graceful stops, SIGKILLs and restarts move partitions
/// between them; every payload is stored exactly once and in order, and the processing pause is measured.
/// </summary>
/// <remarks>
/// The mock's KIP-848 heartbeat interval is set to 500 ms and its session timeout to 6 s, as a broker with
/// <c>group.consumer.heartbeat.interval.ms=500</c> and <c>group.consumer.session.timeout.ms=6000</c> (and
/// the matching <c>group.consumer.min.*</c>) would. Under the classic protocol the mock waits session
/// timeout − 1 s for members to rejoin before it assigns (rdkafka_mock_cgrp.c), which a real broker does
/// not: classic takeovers on the mock measure the mock.
/// </remarks>
[Collection(OutageCollection.Name)]
public sealed class FailoverTests
{
    private const int Sessions = 16;

    [Theory]
    [InlineData("consumer")]
    [InlineData("classic")]
    public async Task A_graceful_stop_hands_its_partitions_over_and_everything_is_stored_once_in_order(string protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await CreateStackAsync(ct);
        var args = $"--Kafka:group.protocol={protocol}";
        var staying = await stack.StartWorkerAsync(ct, args);
        var leaving = await stack.StartWorkerAsync(ct, args);
        await using var load = new ContinuousLoad(stack, Sessions);
        await WaitForProgressAsync(stack, 400, ct);
        var before = await RedeliveriesAsync(staying);

        var stop = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(60)));
        var exited = clock.Elapsed;
        await WaitForAllPartitionsAsync(stack, stop.AddSeconds(0.5), ct);
        var pause = await ContinuousLoad.LongestPauseAsync(stack.ConnectionString, stop, DateTimeOffset.UtcNow, ct);
        var redeliveries = await RedeliveriesAsync(staying) - before;

        await FinishAsync(stack, load, ct);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{protocol}: graceful stop exited in {exited.TotalMilliseconds:0} ms; longest partition pause {pause.TotalMilliseconds:0} ms, {redeliveries} redeliveries");
        MeasurementLog.Record(new(
            $"failover: graceful stop → partitions processed elsewhere ({protocol})", pause.TotalSeconds, "s", 1,
            $"{redeliveries} redeliveries; the stopping worker exited in {exited.TotalMilliseconds:0} ms" +
            (protocol == "classic" ? "; the mock waits session − 1 s before it assigns (rdkafka_mock_cgrp.c), a real broker does not" : "")));
        Assert.True(pause < TimeSpan.FromSeconds(protocol == "consumer" ? 3 : 12), $"pause {pause}");
    }

    [Fact]
    public async Task One_to_three_to_one_replicas_with_sigkills_store_everything_once_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await CreateStackAsync(ct);
        const string Protocol = "--Kafka:group.protocol=consumer";
        var first = await stack.StartWorkerAsync(ct, Protocol);
        await using var load = new ContinuousLoad(stack, Sessions);
        await WaitForProgressAsync(stack, 200, ct);

        var staticMember = await stack.StartWorkerAsync(ct, Protocol, "--Kafka:group.instance.id=worker-2");
        var third = await stack.StartWorkerAsync(ct, Protocol);
        await WaitForProgressAsync(stack, 400, ct);
        var beforeRestart = await RedeliveriesAsync(first, third);

        // SIGKILL mid-batch, then a restart with the same group.instance.id.
        var kill = DateTimeOffset.UtcNow;
        await staticMember.KillAsync();
        staticMember = await stack.StartWorkerAsync(ct, Protocol, "--Kafka:group.instance.id=worker-2");
        await WaitForAllPartitionsAsync(stack, DateTimeOffset.UtcNow.AddSeconds(0.5), ct);
        var restartPause = await ContinuousLoad.LongestPauseAsync(stack.ConnectionString, kill, DateTimeOffset.UtcNow, ct);
        var restartRedeliveries = await RedeliveriesAsync(first, staticMember, third) - beforeRestart;
        var beforeKill = await RedeliveriesAsync(first, staticMember);

        // SIGKILL with no restart: its partitions wait for the session timeout.
        kill = DateTimeOffset.UtcNow;
        await third.KillAsync();
        await WaitForAllPartitionsAsync(stack, DateTimeOffset.UtcNow.AddSeconds(0.5), ct);
        var killPause = await ContinuousLoad.LongestPauseAsync(stack.ConnectionString, kill, DateTimeOffset.UtcNow, ct);
        var killRedeliveries = await RedeliveriesAsync(first, staticMember) - beforeKill;

        // Back to one replica. A static member's graceful stop keeps its partitions for its return (KIP-848 leave
        // with epoch -2; classic members send no LeaveGroup at all, KIP-345) until the session timeout.
        var stop = DateTimeOffset.UtcNow;
        Assert.Equal(0, await staticMember.TerminateAsync(TimeSpan.FromSeconds(60)));
        await WaitForAllPartitionsAsync(stack, DateTimeOffset.UtcNow.AddSeconds(0.5), ct);
        var staticStopPause = await ContinuousLoad.LongestPauseAsync(stack.ConnectionString, stop, DateTimeOffset.UtcNow, ct);

        await FinishAsync(stack, load, ct);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"SIGKILL + restart with the same group.instance.id: longest partition pause {restartPause.TotalMilliseconds:0} ms, " +
            $"{restartRedeliveries} redeliveries; SIGKILL without restart: {killPause.TotalMilliseconds:0} ms, {killRedeliveries} redeliveries; " +
            $"graceful stop of the static member: {staticStopPause.TotalMilliseconds:0} ms");
        MeasurementLog.Record(new(
            "failover: SIGKILL + restart, same group.instance.id (consumer)", restartPause.TotalSeconds, "s", 2,
            $"{restartRedeliveries} redeliveries; KIP-848 refuses the instance id until the old session (6 s) expires, on the mock and on Kafka"));
        MeasurementLog.Record(new(
            "failover: SIGKILL, no restart (consumer, session 6 s)", killPause.TotalSeconds, "s", 6 + 1, $"{killRedeliveries} redeliveries"));
        MeasurementLog.Record(new(
            "failover: graceful stop of a static member (consumer)", staticStopPause.TotalSeconds, "s", null,
            "kept for its return until the session timeout, by design"));
        Assert.True(killPause < TimeSpan.FromSeconds(6 + 1 + 1), $"kill pause {killPause}");
    }

    [Fact]
    public async Task A_restarted_static_member_refused_as_unreleased_joins_again_instead_of_exiting()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await CreateStackAsync(ct);
        // A real KIP-848 broker answers a static member restarted while its crashed instance's session lasts with
        // UNRELEASED_INSTANCE_ID, which librdkafka makes fatal; the mock answers UNKNOWN_MEMBER_ID instead
        // (rdkafka_mock_cgrp.c), so the broker's answer is injected here, three times in a row.
        stack.Mock.PushRequestErrors(
            KafkaApiKey.ConsumerGroupHeartbeat, ErrorCode.UnreleasedInstanceId, ErrorCode.UnreleasedInstanceId, ErrorCode.UnreleasedInstanceId);
        var worker = await stack.StartWorkerAsync(ct, "--Kafka:group.protocol=consumer", "--Kafka:group.instance.id=worker-1");
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

    private static async Task<IsolatedStack> CreateStackAsync(CancellationToken ct)
    {
        var stack = await IsolatedStack.CreateAsync(partitions: 4, ct);
        stack.Mock.SetGroupConsumerHeartbeatInterval(500);
        stack.Mock.SetGroupConsumerSessionTimeout(6000);
        return stack;
    }

    private static async Task WaitForProgressAsync(IsolatedStack stack, int more, CancellationToken ct)
    {
        var now = await stack.Database.CountAsync(ct);
        await stack.Database.WaitForCountAsync(now + more, ct);
    }

    /// <summary>Waits until every partition has stored a payload produced after <paramref name="since"/>: all are owned again.</summary>
    private static Task WaitForAllPartitionsAsync(IsolatedStack stack, DateTimeOffset since, CancellationToken ct) =>
        Eventually.UntilAsync(
            async () =>
            {
                await using var connection = new NpgsqlConnection(stack.Database.ConnectionString);
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand(
                    "SELECT count(DISTINCT kafka_partition) FROM ingest.payloads WHERE received_at > $1", connection)
                {
                    Parameters = { new NpgsqlParameter<DateTimeOffset> { TypedValue = since } },
                };
                return (long)(await command.ExecuteScalarAsync(ct))!;
            },
            n => n == stack.Partitions, TimeSpan.FromSeconds(60), n => $"only {n} partitions processed since {since:O}", ct);

    private static async Task FinishAsync(IsolatedStack stack, ContinuousLoad load, CancellationToken ct)
    {
        await load.StopAsync();
        var produced = load.Produced;
        await stack.Database.WaitForCountAsync(produced.Values.Sum(), ct, seconds: 90);
        await stack.AssertStoredInOrderAsync(produced, ct);
    }

    /// <summary>Payloads the live workers found already stored by the same upload (Kafka redeliveries).</summary>
    private static async Task<long> RedeliveriesAsync(params WorkerProcess[] workers)
    {
        long total = 0;
        foreach (var worker in workers.Where(w => !w.HasExited))
        {
            using var http = new HttpClient { BaseAddress = worker.Address };
            var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            total += text.Split('\n')
                .Where(l => l.StartsWith("ingest_worker_duplicates_total", StringComparison.Ordinal) && l.Contains("kind=\"redelivery\"", StringComparison.Ordinal))
                .Sum(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        return total;
    }
}
