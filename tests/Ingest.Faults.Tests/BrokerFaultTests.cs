using Ingest.Faults.Tests.Harness;
using Ingest.Testing;

namespace Ingest.Faults.Tests;

/// <summary>Broker faults under load that only the mock can inject, on a mock cluster of the cell's own whatever the suite's broker.</summary>
[Collection(FaultCollection.Name)]
public sealed class BrokerFaultTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public Task One_broker_down_then_up() => Matrix.RunAsync(Cells.OneBrokerDown, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task All_brokers_down_then_up() => Matrix.RunAsync(Cells.AllBrokersDown, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Partition_leaders_moved() => Matrix.RunAsync(Cells.LeaderMoved, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Retriable_produce_errors() => Matrix.RunAsync(Cells.ProduceErrors, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Round_trip_time_spikes() => Matrix.RunAsync(Cells.RttSpike, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Fetch_errors() => Matrix.RunAsync(Cells.FetchErrors, kafka, postgres, TestContext.Current.CancellationToken);
}
