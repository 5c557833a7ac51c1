using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.Identity;

namespace Ingest.Worker.Consuming;

/// <summary>
/// The <c>Kafka</c> configuration section: <c>Kafka:BootstrapServers</c> plus any other key, passed to
/// librdkafka as is (TLS/SASL, <c>group.protocol</c>, <c>group.instance.id</c>, tuning), and
/// <c>Ingest:Topic</c>, the payload topic.
/// </summary>
public sealed class KafkaOptions
{
    /// <summary>Configuration key of the broker list.</summary>
    public const string BootstrapServersKey = "Kafka:BootstrapServers";

    /// <summary>Configuration key of the payload topic.</summary>
    public const string TopicKey = "Ingest:Topic";

    // librdkafka consumer-only properties a producer would warn about ("ignored by this producer").
    private static readonly string[] ConsumerOnlyPrefixes =
    [
        "group.", "session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy", "fetch.",
        "auto.offset.reset", "enable.auto.", "auto.commit.", "max.poll.interval.ms", "isolation.level",
        "queued.", "enable.partition.eof", "check.crcs", "coordinator.query.interval.ms",
    ];

    /// <summary>Every <c>Kafka:*</c> key except <c>BootstrapServers</c>, by librdkafka property name.</summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>The broker list (<c>Kafka:BootstrapServers</c>); required.</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>The payload topic (<c>Ingest:Topic</c>). Default <see cref="IngestTopics.Payloads"/>.</summary>
    public string Topic { get; set; } = IngestTopics.Payloads;

    /// <summary>Reads the options from configuration.</summary>
    public void Load(IConfiguration configuration)
    {
        foreach (var child in configuration.GetSection("Kafka").GetChildren())
        {
            if (child.Value is null)
            {
                continue;
            }

            if (string.Equals(child.Key, "BootstrapServers", StringComparison.OrdinalIgnoreCase)
                || string.Equals(child.Key, "bootstrap.servers", StringComparison.Ordinal))
            {
                BootstrapServers = child.Value;
            }
            else
            {
                Settings[child.Key] = child.Value;
            }
        }

        Topic = configuration[TopicKey] is { Length: > 0 } topic ? topic : IngestTopics.Payloads;
    }

    /// <summary>True when <c>Kafka:group.protocol=consumer</c> selects the KIP-848 rebalance protocol.</summary>
    public bool UsesConsumerGroupProtocol =>
        Settings.TryGetValue("group.protocol", out var protocol)
        && string.Equals(protocol.Trim(), "consumer", StringComparison.OrdinalIgnoreCase);

    /// <summary>The worker's consumer configuration: passthrough settings plus what correctness needs.</summary>
    public ConsumerConfig BuildConsumerConfig(string groupId)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(Settings, StringComparer.Ordinal))
        {
            BootstrapServers = BootstrapServers,
            GroupId = groupId,
            // Offsets are committed by hand, only up to what is durably stored (never by a timer).
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = false,
        };
        SetIfAbsent(config, "client.id", "ingest-worker");
        // A new group must start from the beginning: 'latest' would silently skip accepted payloads.
        SetIfAbsent(config, "auto.offset.reset", "earliest");
        // librdkafka's prefetch (64 MiB by default) comes on top of the lanes' byte budget: keep it modest.
        SetIfAbsent(config, "queued.max.messages.kbytes", "16384");
        // A request the broker accepted but never answers (a half-open connection after a broker or network failure)
        // holds the connection's partitions until it times out: 60 s by default. The soak saw exactly that after all
        // brokers went down and came back (Fetch, Metadata and FindCoordinator "timed out in flight after 60369 ms", a
        // partition stalled a minute). 10 s bounds the stall; group requests (JoinGroup, SyncGroup, heartbeats) have
        // their own timeouts in librdkafka, and a Fetch waits at most fetch.wait.max.ms (500 ms) for data.
        SetIfAbsent(config, "socket.timeout.ms", "10000");
        if (!UsesConsumerGroupProtocol)
        {
            // Classic protocol only: with group.protocol=consumer (KIP-848) the broker owns assignment
            // and timeouts, and librdkafka refuses these three properties.
            SetIfAbsent(config, "partition.assignment.strategy", "cooperative-sticky");
            // Brokers reject session.timeout.ms below group.min.session.timeout.ms (6000 by default): 6 s
            // notices a crashed worker soonest. Heartbeats come from librdkafka's own thread, so .NET GC
            // pauses do not delay them.
            SetIfAbsent(config, "session.timeout.ms", "6000");
            // After a graceful leave the survivors hear of the rebalance only in a heartbeat response: at
            // the default 3 s that was the takeover time. 500 ms bounds it to half a second (KIP-62
            // heartbeats are tiny; brokers accept any interval below the session timeout).
            SetIfAbsent(config, "heartbeat.interval.ms", "500");
        }

        return config;
    }

    /// <summary>The dead-letter producer's configuration: acks=all, idempotent, session partitioner.</summary>
    public ProducerConfig BuildProducerConfig()
    {
        var settings = Settings
            .Where(s => !ConsumerOnlyPrefixes.Any(p => s.Key.StartsWith(p, StringComparison.Ordinal)))
            .ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        var config = new ProducerConfig(settings)
        {
            BootstrapServers = BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
        };
        SetIfAbsent(config, "client.id", "ingest-worker-dlq");
        // A dead letter carries the original value, which may be far above the 1 MB default.
        SetIfAbsent(config, "message.max.bytes", "134217728");
        return config;
    }

    private static void SetIfAbsent(ClientConfig config, string key, string value)
    {
        if (config.Get(key) is null)
        {
            config.Set(key, value);
        }
    }
}
