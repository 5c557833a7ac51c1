namespace Ingest.Faults.Tests.Harness;

/// <summary>Which broker a cell's stack runs on.</summary>
public enum BrokerNeed
{
    /// <summary>
    /// The suite's broker (<see cref="Ingest.Testing.KafkaFixture"/>) with a topic of the cell's own. When the suite's
    /// broker is librdkafka's mock cluster, a mock cluster of the cell's own instead: a killed worker's group or a flood
    /// must not share a cluster with the rest of the suite.
    /// </summary>
    Suite,

    /// <summary>
    /// A mock cluster of the cell's own, whatever the suite's broker: for the faults only the mock can inject (request
    /// errors, round-trip times, a broker down that nobody notices, leaders moved on command).
    /// </summary>
    OwnMock,

    /// <summary>The shared real three-node cluster (<see cref="RealCluster"/>): real replication, fencing and elections.</summary>
    RealCluster,
}

/// <summary>What a cell's stack must own: its broker (to break it), its database server (to stop it), how many workers.</summary>
/// <param name="Broker">Which broker the stack runs on.</param>
/// <param name="OwnPostgres">A Postgres cluster of its own (<see cref="Ingest.Testing.PrivatePostgres"/>), to stop and restart.</param>
/// <param name="Workers">Workers started before the load.</param>
/// <param name="ApiArgs">Extra API settings (e.g. a smaller in-flight budget).</param>
public sealed record StackNeeds(BrokerNeed Broker = BrokerNeed.Suite, bool OwnPostgres = false, int Workers = 1, IReadOnlyList<string>? ApiArgs = null);
