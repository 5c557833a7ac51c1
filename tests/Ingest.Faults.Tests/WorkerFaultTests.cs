using Ingest.Faults.Tests.Harness;
using Ingest.Testing;

namespace Ingest.Faults.Tests;

/// <summary>Workers killed, stopped, added and removed under load (child processes; KIP-848 groups on the mock).</summary>
[Collection(FaultCollection.Name)]
public sealed class WorkerFaultTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public Task Sigkill_mid_batch() => Matrix.RunAsync(Cells.WorkerKill, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Graceful_stop_mid_reassembly() => Matrix.RunAsync(Cells.GracefulStopMidReassembly, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Rebalance_storm() => Matrix.RunAsync(Cells.RebalanceStorm, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task One_to_four_to_one_replicas() => Matrix.RunAsync(Cells.ScaleOutAndIn, kafka, postgres, TestContext.Current.CancellationToken);
}
