using System.Text;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Worker.Tests.Lifecycle;

/// <summary>
/// The data lifecycle as a running worker applies it: per-project retention removes what expired (and only that), an
/// erased session's payloads still in Kafka never become rows, and the maintenance pass carries on across a restart and
/// a database that refused connections for a while.
/// </summary>
public sealed class LifecycleTests(KafkaFixture kafka, PostgresFixture postgres)
{
    /// <summary>Short lifecycle settings: a pass each second, one-minute partitions (a ten-minute default retention keeps them few).</summary>
    private static readonly string[] Fast =
    [
        "--Ingest:Lifecycle:CheckInterval=00:00:01",
        "--Ingest:Lifecycle:PartitionInterval=00:01:00",
        "--Ingest:Lifecycle:DefaultRetention=00:10:00",
        $"--Ingest:Projects:{WorkerScenario.Project}:Retention=00:00:04",
    ];

    [Fact]
    public async Task Each_project_keeps_its_payloads_for_its_own_retention()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 2, ct);
        await scenario.StartWorkerAsync(ct, Fast);
        var stored = DateTimeOffset.UtcNow;
        for (var seq = 0; seq < 10; seq++)
        {
            await ProduceAsync(scenario, WorkerScenario.Project, "short", seq, ct);
            await ProduceAsync(scenario, "keeper", "long", seq, ct);
        }

        await scenario.Database.WaitForCountAsync(20, ct);
        await Eventually.TrueAsync(
            async () => (await scenario.Database.AllAsync(ct)).All(r => r.Project == "keeper"), TimeSpan.FromSeconds(30),
            "the short project's payloads removed", ct);
        var removedAfter = DateTimeOffset.UtcNow - stored;

        Assert.Equal(10, (await scenario.Database.AllAsync(ct)).Count);
        Assert.True(removedAfter < TimeSpan.FromSeconds(4 + 1 + 10), $"removed {removedAfter} after they were sent; retention 4 s, a pass each second");
        // The pass counts what it removed once its transaction has committed, so the count may trail the rows by a moment.
        await Eventually.UntilAsync(
            () => MetricAsync(scenario, "ingest_worker_lifecycle_removed", ct), text => text.Contains("reason=\"expired\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), text => $"no removal counted as expired: '{text}'", ct);
    }

    [Fact]
    public async Task Payloads_of_an_erased_session_still_in_Kafka_never_become_rows()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct, "--Ingest:Lifecycle:CheckInterval=00:00:01");
        await ProduceAsync(scenario, WorkerScenario.Project, "gone", 0, ct);
        await ProduceAsync(scenario, WorkerScenario.Project, "kept", 0, ct);
        await scenario.Database.WaitForCountAsync(2, ct);

        // The erasure as the API records it; the worker has more of the session to read.
        await Sql.ExecuteAsync(scenario.ConnectionString,
            $"UPDATE ingest.sessions SET erased_at = now(), keep_until = now() + interval '1 day' WHERE project = '{WorkerScenario.Project}' AND session_id = 'gone'", ct);
        for (var seq = 1; seq <= 5; seq++)
        {
            await ProduceAsync(scenario, WorkerScenario.Project, "gone", seq, ct);
        }

        await ProduceAsync(scenario, WorkerScenario.Project, "kept", 1, ct);
        await Eventually.UntilAsync(() => scenario.CommittedOffsets()[0], o => o == 8, TimeSpan.FromSeconds(30), o => $"committed {o}", ct);
        await Eventually.TrueAsync(
            async () => (await scenario.Database.AllAsync(ct)).All(r => r.SessionId == "kept"), TimeSpan.FromSeconds(30), "the erased session's row removed", ct);

        Assert.Equal([0L, 1L], (await scenario.Database.AllAsync(ct)).Select(r => r.Seq));
        Assert.Contains("reason=\"erased\"", await MetricAsync(scenario, "ingest_worker_payloads_dropped", ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Maintenance_carries_on_across_a_restart_and_a_database_that_refused_connections()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var first = await scenario.StartWorkerAsync(ct, Fast);
        await ProduceAsync(scenario, WorkerScenario.Project, "s", 0, ct);
        await scenario.Database.WaitForCountAsync(1, ct);
        var partitions = await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.partitions WHERE parent = 'payloads'", ct);
        Assert.InRange(partitions, 10, 14); // ten minutes and two more, a minute each

        await first.StopAsync();
        await scenario.StartWorkerAsync(ct, Fast);
        await Eventually.TrueAsync(async () => await PassCountAsync(scenario, ct) > 0, TimeSpan.FromSeconds(30), "a pass of the restarted worker", ct);
        var database = new NpgsqlConnectionStringBuilder(scenario.ConnectionString).Database!;
        await Sql.ExecuteAsync(postgres.AdminConnectionString, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false", ct);
        await Sql.ExecuteAsync(postgres.AdminConnectionString, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'", ct);
        await Eventually.TrueAsync(
            async () => (await MetricAsync(scenario, "ingest_worker_lifecycle_pass_failures", ct)).Length > 0, TimeSpan.FromSeconds(30),
            "a pass failed while the database refused connections", ct);
        var passesBefore = await PassCountAsync(scenario, ct);
        await Sql.ExecuteAsync(postgres.AdminConnectionString, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true", ct);
        NpgsqlConnection.ClearAllPools(); // this test's own pooled connections were terminated too

        // Back: passes resume, the payload sent before expires and is removed, partitions stay one set (no duplicates).
        await Eventually.TrueAsync(async () => await scenario.Database.CountAsync(ct) == 0, TimeSpan.FromSeconds(30), "the expired payload removed", ct);
        await Eventually.UntilAsync(
            () => PassCountAsync(scenario, ct), passes => passes > passesBefore, TimeSpan.FromSeconds(10),
            passes => $"passes counted after the outage: {passes}, before it: {passesBefore}", ct); // counted just after the pass commits
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString,
            "SELECT count(*) FROM ingest.partitions a JOIN ingest.partitions b ON a.parent = b.parent AND a.name < b.name AND a.upper > b.lower AND b.upper > a.lower", ct));
    }

    private static Task ProduceAsync(WorkerScenario scenario, string project, string session, int seq, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes($"{project} {session} {seq}");
        return scenario.ProduceAsync(WorkerScenario.EnvelopeFor(session, seq, bytes) with { ProjectId = project }, bytes, ct);
    }

    private static async Task<double> PassCountAsync(WorkerScenario scenario, CancellationToken ct)
    {
        var line = await MetricAsync(scenario, "ingest_worker_lifecycle_pass_duration_seconds_count", ct);
        return line.Length == 0 ? 0 : double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The last running worker's exposition lines of <paramref name="name"/>, joined.</summary>
    private static async Task<string> MetricAsync(WorkerScenario scenario, string name, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = scenario.Workers[^1].Address };
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
        return string.Join('\n', text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)));
    }
}
