using System.Globalization;
using System.Text.RegularExpressions;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Worker.Tests.Support;

/// <summary>What the failover tests share: two workers under load, waits on ownership and progress, the final check.</summary>
internal static partial class Failover
{
    public const int Sessions = 16;

    /// <summary>How long a group may take to give every partition an owner again, beyond its session timeout.</summary>
    private static readonly TimeSpan OwnedAgainDeadline = TimeSpan.FromSeconds(60);

    public static string[] ProtocolArgs(string protocol, string? instanceId = null) =>
        instanceId is null
            ? [$"--Kafka:group.protocol={protocol}"]
            : [$"--Kafka:group.protocol={protocol}", $"--Kafka:group.instance.id={instanceId}"];

    /// <summary>
    /// Starts <paramref name="first"/> and <paramref name="second"/> workers' arguments, then the load, and returns once
    /// both own partitions and rows flow: a failover measured before the group settled would measure the settling.
    /// </summary>
    public static async Task<(WorkerProcess First, WorkerProcess Second, ContinuousLoad Load)> StartTwoUnderLoadAsync(
        IsolatedStack stack, string[] first, string[] second, CancellationToken ct)
    {
        var a = await stack.StartWorkerAsync(ct, first);
        var b = await stack.StartWorkerAsync(ct, second);
        var load = new ContinuousLoad(stack, Sessions);
        await WaitForSettledAsync(stack, [a, b], ct);
        await WaitForProgressAsync(stack, 400, ct);
        return (a, b, load);
    }

    public static async Task WaitForProgressAsync(IsolatedStack stack, int more, CancellationToken ct)
    {
        var now = await stack.Database.CountAsync(ct);
        await stack.Database.WaitForCountAsync(now + more, ct);
    }

    /// <summary>Waits until the <paramref name="workers"/> own every partition between them, each at least one, none twice.</summary>
    public static Task WaitForSettledAsync(IsolatedStack stack, WorkerProcess[] workers, CancellationToken ct) =>
        Eventually.UntilAsync(
            () => workers.Select(Owned).ToList(),
            owned => owned.All(o => o.Count > 0) && owned.Sum(o => o.Count) == stack.Partitions
                && owned.SelectMany(o => o).Distinct().Count() == stack.Partitions,
            TimeSpan.FromSeconds(60),
            owned => $"assignments {string.Join(" / ", owned.Select(o => $"[{string.Join(",", o.Order())}]"))}\n{stack.WorkerOutput}", ct);

    /// <summary>Waits until every partition has stored a payload received after <paramref name="since"/>: all are owned again.</summary>
    public static Task WaitForAllPartitionsAsync(IsolatedStack stack, DateTimeOffset since, GroupTiming timing, CancellationToken ct) =>
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
            n => n == stack.Partitions, timing.SessionBound + OwnedAgainDeadline,
            n => $"only {n} partitions processed since {since:O} ({timing})\n{stack.WorkerOutput}", ct);

    /// <summary>
    /// After a fault at <paramref name="since"/>: waits until every partition has stored again (half a second on), then
    /// returns the longest time any partition went without a stored row from <paramref name="since"/> to now.
    /// </summary>
    public static async Task<TimeSpan> PauseSinceAsync(IsolatedStack stack, DateTimeOffset since, GroupTiming timing, CancellationToken ct)
    {
        await WaitForAllPartitionsAsync(stack, since.AddSeconds(0.5), timing, ct);
        return await ContinuousLoad.LongestPauseAsync(stack.ConnectionString, since, DateTimeOffset.UtcNow, ct);
    }

    /// <summary>Stops the load and checks that every payload is stored once, in order per session.</summary>
    public static async Task FinishAsync(IsolatedStack stack, ContinuousLoad load, CancellationToken ct)
    {
        await load.StopAsync();
        var produced = load.Produced;
        await stack.Database.WaitForCountAsync(produced.Values.Sum(), ct, seconds: 90);
        await stack.AssertStoredInOrderAsync(produced, ct);
    }

    /// <summary>Payloads the live workers found already stored by the same upload (Kafka redeliveries).</summary>
    public static async Task<long> RedeliveriesAsync(params WorkerProcess[] workers)
    {
        long total = 0;
        foreach (var worker in workers.Where(w => !w.HasExited))
        {
            using var http = new HttpClient { BaseAddress = worker.Address };
            var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            total += text.Split('\n')
                .Where(l => l.StartsWith("ingest_worker_duplicates_total", StringComparison.Ordinal) && l.Contains("kind=\"redelivery\"", StringComparison.Ordinal))
                .Sum(l => long.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture));
        }

        return total;
    }

    /// <summary>The partitions a worker owns, replayed from its Assigned/Revoked/Lost log lines in order.</summary>
    public static HashSet<int> Owned(WorkerProcess worker)
    {
        var owned = new HashSet<int>();
        foreach (Match change in AssignmentChange().Matches(worker.Output))
        {
            var partitions = change.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture));
            if (change.Groups[1].Value == "Assigned")
            {
                owned.UnionWith(partitions);
            }
            else
            {
                owned.ExceptWith(partitions);
            }
        }

        return owned;
    }

    /// <summary>How many assignment changes (Assigned/Revoked/Lost) a worker has logged: a rebalance it took part in adds some.</summary>
    public static int AssignmentChanges(WorkerProcess worker) => AssignmentChange().Count(worker.Output);

    /// <summary>A worker's start-up milestones (its "Start-up: {phase} at {ms} ms" lines), in milliseconds after its process started.</summary>
    public static IReadOnlyList<(string Phase, double Milliseconds)> StartupTimeline(WorkerProcess worker) =>
        [.. StartupLine().Matches(worker.Output).Select(m => (m.Groups[1].Value, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))];

    /// <summary>The protocol and the broker, as the measurements name them.</summary>
    public static string Label(GroupTiming timing) => $"{timing.Protocol}, {(timing.IsMock ? "mock" : "real Kafka")}";

    /// <summary>Writes a measured failover to the test output and to <see cref="MeasurementLog"/>.</summary>
    public static void Report(GroupTiming timing, string failover, TimeSpan pause, double? limit, string detail)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{failover} ({timing}): {pause.TotalMilliseconds:0} ms; {detail}");
        MeasurementLog.Record(new($"failover: {failover} ({Label(timing)})", pause.TotalSeconds, "s", limit, $"{detail}; {timing}"));
    }

    [GeneratedRegex(@"(Assigned|Revoked|Lost) partitions \[([\d,]*)\]")]
    private static partial Regex AssignmentChange();

    [GeneratedRegex(@"Start-up: (\w+) at (\d+) ms")]
    private static partial Regex StartupLine();
}
