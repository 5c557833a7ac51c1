using Confluent.Kafka;
using Ingest.DevBroker;
using Npgsql;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The matrix's faults. Each holds its fault for a few seconds: a schedule, not synchronisation (the cell then
/// waits on conditions with deadlines).
/// </summary>
public static partial class Cells
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The faults the soak repeats on one long-lived stack (its own broker and Postgres, default API settings):
    /// all but those needing other API settings (produce errors, flood) or a chunk-heavy load (stop mid-reassembly).
    /// </summary>
    public static IReadOnlyList<Fault> Soak =>
    [
        OneBrokerDown, AllBrokersDown, LeaderMoved, RttSpike, FetchErrors,
        DatabaseRestart, ConnectionDrops, StatementTimeouts, DiskFull, LockContention,
        WorkerKill, RebalanceStorm, ScaleOutAndIn, ApiKill, ClientDisconnects,
    ];

    /// <summary>The soak's faults on the real three-node cluster: its broker faults, then the soak's others (database, workers, API).</summary>
    public static IReadOnlyList<Fault> SoakOnRealCluster => [.. RealBroker, .. Soak.Where(f => f.Needs.Broker != BrokerNeed.OwnMock)];

    private static int LeaderOf(FaultStack stack, int partition)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        return admin.GetMetadata(stack.Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Single(p => p.PartitionId == partition).Leader;
    }

    private static MockCluster Mock(FaultContext f) => f.Stack.Mock ?? throw new InvalidOperationException("broker faults need the stack's own mock cluster");

    private static Task HoldAsync(TimeSpan duration, CancellationToken ct) => Task.Delay(duration, ct); // the fault's duration: a schedule

    private static async Task TerminateBackendsAsync(FaultStack stack, CancellationToken ct) =>
        await ExecuteAsync(stack,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", ct);

    /// <summary>
    /// Runs the fault's SQL as one implicit transaction. DDL such as CREATE TRIGGER on both payload tables takes
    /// locks while worker batches hold one table and want the other, so Postgres may pick the fault's statement as
    /// the deadlock victim (40P01): the whole statement rolled back, and it is simply sent again.
    /// </summary>
    private static async Task ExecuteAsync(FaultStack stack, string sql, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(stack.UnpooledConnectionString);
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand(sql, connection);
                await command.ExecuteNonQueryAsync(ct);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 10)
            {
            }
        }
    }
}
