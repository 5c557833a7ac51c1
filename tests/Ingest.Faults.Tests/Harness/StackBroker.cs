using Ingest.Contracts;
using Ingest.DevBroker;
using Ingest.Testing;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The broker side of one cell's stack: where its topic lives (the suite's broker, a mock cluster of its own, or the
/// shared real three-node cluster), the client settings and group protocol that broker wants, and its clean-up.
/// </summary>
public sealed class StackBroker : IAsyncDisposable
{
    private StackBroker(string bootstrapServers, string topic, MockCluster? mock, LocalKafka? cluster, IReadOnlyDictionary<string, string> clientSettings)
    {
        BootstrapServers = bootstrapServers;
        Topic = topic;
        Mock = mock;
        Cluster = cluster;
        ClientSettings = clientSettings;
    }

    public string BootstrapServers { get; }

    public string Topic { get; }

    /// <summary>The cell's own mock cluster (fault injection), or null.</summary>
    public MockCluster? Mock { get; }

    /// <summary>The shared real three-node cluster (nodes to kill, stop, pause), or null.</summary>
    public LocalKafka? Cluster { get; }

    /// <summary>Settings the API and workers get on top of their defaults (<c>--Kafka:key=value</c>).</summary>
    public IReadOnlyDictionary<string, string> ClientSettings { get; }

    /// <summary>
    /// Worker group protocol: KIP-848 on the mock (its heartbeat set to 500 ms, as FailoverTests do); classic on a real
    /// broker, whose KIP-848 defaults (45 s session) the cells would wait on (measured: a group on them takes 45 s to notice a lost member).
    /// </summary>
    public string GroupProtocol => Mock is not null ? "consumer" : "classic";

    public static async Task<StackBroker> CreateAsync(BrokerNeed need, int partitions, KafkaFixture kafka, RealCluster? real, CancellationToken ct)
    {
        if (need == BrokerNeed.RealCluster)
        {
            var cluster = await (real ?? throw new InvalidOperationException("this cell needs the fault collection's real cluster")).GetHealthyAsync(ct);
            var topic = await RealCluster.CreateTopicAsync(cluster.BootstrapServers, partitions, ct);
            return new StackBroker(cluster.BootstrapServers, topic, null, cluster, new Dictionary<string, string>());
        }

        if (need == BrokerNeed.OwnMock || kafka.IsMock)
        {
            var mock = new MockCluster(brokers: 3);
            const string topic = "payloads";
            mock.CreateTopic(topic, partitions, 3);
            mock.CreateTopic(IngestTopics.DeadLetterFor(topic), partitions, 3);
            mock.SetGroupConsumerHeartbeatInterval(500);
            mock.SetGroupConsumerSessionTimeout(6000);
            // An empty Fetch on the mock is answered only after the full fetch.wait.max.ms (500 ms default).
            return new StackBroker(mock.BootstrapServers, topic, mock, null, new Dictionary<string, string> { ["fetch.wait.max.ms"] = "10" });
        }

        return new StackBroker(kafka.BootstrapServers, await kafka.CreateTopicAsync("faults", partitions, ct), null, null, kafka.ClientSettings);
    }

    public async ValueTask DisposeAsync()
    {
        Mock?.Dispose();
        if (Cluster is not null)
        {
            await RealCluster.DeleteTopicAsync(BootstrapServers, Topic);
        }
    }
}
