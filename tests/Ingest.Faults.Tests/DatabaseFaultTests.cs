using Ingest.Faults.Tests.Harness;
using Ingest.Testing;

namespace Ingest.Faults.Tests;

/// <summary>Database faults under load: every one is transient, so nothing may be lost, dead-lettered or reordered.</summary>
[Collection(FaultCollection.Name)]
public sealed class DatabaseFaultTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public Task Restart_mid_batch() => Matrix.RunAsync(Cells.DatabaseRestart, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Connection_drops() => Matrix.RunAsync(Cells.ConnectionDrops, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Statement_timeouts() => Matrix.RunAsync(Cells.StatementTimeouts, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Disk_full_is_transient_not_poison() => Matrix.RunAsync(Cells.DiskFull, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Lock_contention() => Matrix.RunAsync(Cells.LockContention, kafka, postgres, TestContext.Current.CancellationToken);
}
