using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Contracts;
using Ingest.DevBroker;
using Testcontainers.Kafka;
using Xunit;

namespace Ingest.Testing;

/// <summary>
/// The tests' broker, resolved in this order: <c>INGEST_TEST_KAFKA</c> (any external broker) →
/// Testcontainers when a Docker engine answers → a real one-node Kafka from <c>../shared/kafka</c> when it
/// exists (developers' machines and CI; <see cref="LocalKafka"/>) → librdkafka's mock cluster. Shared by a test
/// assembly; each test creates its own topics and groups. <c>INGEST_TEST_KAFKA_DIR</c> names a directory where
/// several test processes share one local cluster (tests/run.sh sets it and stops the cluster at the end).
/// </summary>
public sealed class KafkaFixture : IAsyncLifetime
{
    private KafkaContainer? _container;
    private LocalKafka? _local;
    private bool _embeddedOnly;
    private readonly Dictionary<string, string> _clientSettings = new(StringComparer.Ordinal);

    public string BootstrapServers { get; private set; } = "";

    public BrokerKind Kind { get; private set; }

    public bool IsMock => Kind == BrokerKind.Mock;

    /// <summary>The mock cluster, for fault injection; null on a real broker.</summary>
    public MockCluster? Mock { get; private set; }

    /// <summary>Settings to merge into every client config a test builds (e.g. <c>fetch.wait.max.ms</c> on the mock).</summary>
    public IReadOnlyDictionary<string, string> ClientSettings => _clientSettings;

    /// <summary>
    /// A fixture on the embedded broker (librdkafka's mock cluster) whatever else this machine has, or on
    /// <c>INGEST_TEST_KAFKA</c> when it is set: the benchmark harness measures the embedded broker unless told otherwise.
    /// </summary>
    public static async Task<KafkaFixture> StartEmbeddedOrExternalAsync()
    {
        var fixture = new KafkaFixture { _embeddedOnly = true };
        await fixture.InitializeAsync();
        return fixture;
    }

    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("INGEST_TEST_KAFKA");
        if (!string.IsNullOrWhiteSpace(external))
        {
            Kind = BrokerKind.External;
            BootstrapServers = external.Trim();
        }
        else if (!_embeddedOnly && Docker.EngineAnswers)
        {
            Kind = BrokerKind.Container;
            _container = new KafkaBuilder("apache/kafka:4.1.0").Build();
            await _container.StartAsync();
            BootstrapServers = _container.GetBootstrapAddress();
        }
        else if (!_embeddedOnly && LocalKafka.Available)
        {
            Kind = BrokerKind.Local;
            _local = await LocalKafka.StartAsync(1, Environment.GetEnvironmentVariable("INGEST_TEST_KAFKA_DIR"), CancellationToken.None);
            BootstrapServers = _local.BootstrapServers;
        }
        else
        {
            Kind = BrokerKind.Mock;
            Mock = new MockCluster(brokers: 3);
            BootstrapServers = Mock.BootstrapServers;
            // An empty Fetch on the mock is answered only after the full fetch.wait.max.ms (500 ms default).
            _clientSettings["fetch.wait.max.ms"] = "10";
        }
    }

    /// <summary>
    /// Creates a topic with a unique name starting with <paramref name="prefix"/>, and its dead-letter topic, with
    /// <paramref name="configs"/> on the payload topic (a real broker only: the mock takes no topic configs).
    /// </summary>
    public async Task<string> CreateTopicAsync(
        string prefix, int partitions = 4, CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? configs = null)
    {
        var topic = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 200)];
        var names = new[] { topic, IngestTopics.DeadLetterFor(topic) };
        if (Mock is not null)
        {
            if (configs is { Count: > 0 })
            {
                throw new InvalidOperationException("The mock cluster takes no topic configs; skip the test on it (SkipIfMock).");
            }

            foreach (var name in names)
            {
                Mock.CreateTopic(name, partitions, Math.Min(3, Mock.BrokerCount));
            }
        }
        else
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
            var brokers = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Count;
            var replication = (short)Math.Min(3, brokers);
            await admin.CreateTopicsAsync(names.Select(name => new TopicSpecification
            {
                Name = name,
                NumPartitions = partitions,
                ReplicationFactor = replication,
                Configs = new Dictionary<string, string>(name == topic ? configs ?? new Dictionary<string, string>() : new Dictionary<string, string>())
                {
                    ["min.insync.replicas"] = Math.Max(1, replication - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["compression.type"] = "producer",
                },
            }));
        }

        await WaitForLeadersAsync(topic, partitions, cancellationToken);
        return topic;
    }

    /// <summary>Skips the calling test on the mock cluster, saying why; runs it on a real broker.</summary>
    public void SkipIfMock(string reason)
    {
        if (IsMock)
        {
            Assert.Skip($"Skipped on librdkafka's mock cluster: {reason}");
        }
    }

    /// <summary>A client config for this broker with <see cref="ClientSettings"/> applied.</summary>
    public T Configure<T>(T config)
        where T : ClientConfig
    {
        config.BootstrapServers = BootstrapServers;
        foreach (var (key, value) in _clientSettings)
        {
            if (config is ConsumerConfig || key != "fetch.wait.max.ms")
            {
                config.Set(key, value);
            }
        }

        return config;
    }

    public async ValueTask DisposeAsync()
    {
        Mock?.Dispose();
        if (_local is not null)
        {
            await _local.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    private async Task WaitForLeadersAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            var ready = metadata.Topics.SingleOrDefault(t => t.Topic == topic) is { Error.IsError: false } t
                && t.Partitions.Count == partitions
                && t.Partitions.All(p => p.Leader >= 0);
            if (ready)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Topic {topic} has no leader for every partition after 30 s.");
            }

            await Task.Delay(50, cancellationToken); // polling a condition with a deadline
        }
    }
}
