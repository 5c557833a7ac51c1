using System.Text;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Worker.Tests.Storage;

/// <summary>While the database refuses writes nothing new is committed; when it is back, everything is stored.</summary>
public sealed class DatabaseOutageTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Writes_are_retried_without_committing_until_the_database_accepts_them_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct);
        await ProduceAsync(scenario, 0, ct);
        await scenario.Database.WaitForCountAsync(1, ct);
        await Eventually.UntilAsync(
            () => scenario.CommittedOffsets()[0], o => o == 1, TimeSpan.FromSeconds(30), o => $"committed {o}", ct);

        await Sql.ExecuteAsync(scenario.ConnectionString, "ALTER TABLE ingest.payloads RENAME TO payloads_away", ct);
        for (var seq = 1; seq <= 5; seq++)
        {
            await ProduceAsync(scenario, seq, ct);
        }

        // The worker has read some of them (how many before it pauses depends on timing) and, unable to store them,
        // paused the partition for the database: the commit must stay at 1.
        await Eventually.UntilAsync(
            async () => (Lag: await GaugeAsync(scenario, "ingest_worker_consumer_lag", ct), Paused: await GaugeAsync(scenario, "ingest_worker_partitions_paused", ct)),
            g => g.Lag is not null and not "5" && g.Paused == "1",
            TimeSpan.FromSeconds(30),
            g => $"lag {g.Lag}, paused {g.Paused}",
            ct);
        Assert.Equal(1, scenario.CommittedOffsets()[0]);

        await Sql.ExecuteAsync(scenario.ConnectionString, "ALTER TABLE ingest.payloads_away RENAME TO payloads", ct);
        await scenario.Database.WaitForCountAsync(6, ct);
        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal([0L, 1L, 2L, 3L, 4L, 5L], rows.Select(r => r.Seq));
        await Eventually.UntilAsync(
            () => scenario.CommittedOffsets()[0], o => o == 6, TimeSpan.FromSeconds(30), o => $"committed {o}", ct);
    }

    [Fact]
    public async Task A_worker_started_before_its_database_exists_waits_for_it_then_stores()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var late = $"late_{Guid.NewGuid():N}";
        var connectionString = new NpgsqlConnectionStringBuilder(postgres.AdminConnectionString) { Database = late }.ConnectionString;
        var worker = await scenario.StartWorkerAsync(ct, $"--ConnectionStrings:Ingest={connectionString}");
        try
        {
            using var http = new HttpClient { BaseAddress = worker.Address };
            Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative), ct));
            await ProduceAsync(scenario, 0, ct);

            await Sql.ExecuteAsync(postgres.AdminConnectionString, $"CREATE DATABASE \"{late}\" TEMPLATE template0", ct);
            await new StoredRows(connectionString).WaitForCountAsync(1, ct);
        }
        finally
        {
            await worker.StopAsync();
            NpgsqlConnection.ClearAllPools();
            await Sql.ExecuteAsync(postgres.AdminConnectionString, $"DROP DATABASE IF EXISTS \"{late}\" WITH (FORCE)", ct);
        }
    }

    private static Task ProduceAsync(WorkerScenario scenario, int seq, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes($"payload {seq}");
        return scenario.ProduceAsync(WorkerScenario.EnvelopeFor("s", seq, bytes), bytes, ct);
    }

    private static async Task<string?> GaugeAsync(WorkerScenario scenario, string name, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = scenario.Workers[0].Address };
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
        return text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(scenario.Topic, StringComparison.Ordinal))
            .Select(l => l.Split(' ')[1]).FirstOrDefault();
    }
}
