using Ingest.Faults.Tests.Harness;
using Ingest.Testing;

namespace Ingest.Faults.Tests;

/// <summary>
/// Broker faults under load on a real three-node Kafka (RF 3, min.insync.replicas=2), shared by these cells; skipped,
/// saying why, where ../shared/kafka is absent.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class RealBrokerFaultTests(KafkaFixture kafka, RealCluster real, PostgresFixture postgres)
{
    [Fact]
    public Task Leader_of_the_busiest_partitions_killed() => Run(Cells.RealLeaderKill);

    [Fact]
    public Task One_node_stopped_gracefully_then_up() => Run(Cells.RealNodeStop);

    [Fact]
    public Task Two_nodes_down_then_up() => Run(Cells.RealTwoDown);

    [Fact]
    public Task All_nodes_down_then_up() => Run(Cells.RealAllDown);

    [Fact]
    public Task Node_paused() => Run(Cells.RealNodePause);

    [Fact]
    public Task Preferred_leader_election_under_load() => Run(Cells.RealPreferredElection);

    private Task Run(Fault fault) => Matrix.RunAsync(fault, kafka, real, postgres, TestContext.Current.CancellationToken);
}
