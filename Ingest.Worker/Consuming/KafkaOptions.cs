using System.Globalization;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Hosting.Kafka;

namespace Ingest.Worker.Consuming;

/// <summary>
/// The consumer's Kafka settings: the shared <c>Kafka:*</c> section (<see cref="KafkaSettings"/>, bound and validated by
/// Ingest.Hosting) plus <c>Ingest:Topic</c>, the payload topic, and what the consumer adds on top of them.
/// </summary>
public sealed class KafkaOptions
{
    /// <summary>Configuration key of the payload topic.</summary>
    public const string TopicKey = "Ingest:Topic";

    /// <summary>Every <c>Kafka:*</c> key by librdkafka property name (<c>bootstrap.servers</c> included).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; private set; } = new Dictionary<string, string>();

    /// <summary>The payload topic (<c>Ingest:Topic</c>). Default <see cref="IngestTopics.Payloads"/>.</summary>
    public string Topic { get; set; } = IngestTopics.Payloads;

    /// <summary>Takes the shared <paramref name="kafka"/> settings and reads the topic from <paramref name="configuration"/>.</summary>
    public void Load(KafkaSettings kafka, IConfiguration configuration)
    {
        Settings = kafka.Client;
        Topic = configuration[TopicKey] is { Length: > 0 } topic ? topic : IngestTopics.Payloads;
    }

    /// <summary>True when <c>Kafka:group.protocol=consumer</c> selects the KIP-848 rebalance protocol.</summary>
    public bool UsesConsumerGroupProtocol =>
        Settings.TryGetValue("group.protocol", out var protocol)
        && string.Equals(protocol.Trim(), "consumer", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// librdkafka's prefetch, one queue for all the consumer's partitions (<c>queued.max.messages.kbytes</c>; a
    /// <c>Kafka:queued.max.messages.kbytes</c> setting overrides it): 64 MiB, librdkafka's own default. It comes on top of the
    /// lanes' byte budget (<see cref="WorkerOptions.LaneCapacityBytes"/>), so it is memory too; but at 16 MiB a worker
    /// storing 100 KB payloads waited for fetches: on one real Kafka 4.1 node it stored them at 0.47–0.63 of raw binary
    /// COPY's rate with the cores half idle, at 64 MiB 0.76–0.78 (issue 18; <c>tests/bench.sh --only worker</c>).
    /// </summary>
    public const int PrefetchKilobytes = 64 * 1024;

    /// <summary>The worker's consumer configuration: passthrough settings plus what correctness needs.</summary>
    public ConsumerConfig BuildConsumerConfig(string groupId)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(Settings, StringComparer.Ordinal))
        {
            GroupId = groupId,
            // Offsets are committed by hand, only up to what is durably stored (never by a timer).
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = false,
        };
        config.SetIfAbsent("client.id", "ingest-worker");
        // A new group must start from the beginning: 'latest' would silently skip accepted payloads.
        config.SetIfAbsent("auto.offset.reset", "earliest");
        config.SetIfAbsent("queued.max.messages.kbytes", PrefetchKilobytes.ToString(CultureInfo.InvariantCulture));
        // A request the broker accepted but never answers (a half-open connection after a broker or network failure)
        // holds the connection's partitions until it times out: 60 s by default. The soak saw exactly that after all
        // brokers went down and came back (Fetch, Metadata and FindCoordinator "timed out in flight after 60369 ms", a
        // partition stalled a minute). 10 s bounds the stall; group requests (JoinGroup, SyncGroup, heartbeats) have
        // their own timeouts in librdkafka, and a Fetch waits at most fetch.wait.max.ms (500 ms) for data.
        config.SetIfAbsent("socket.timeout.ms", "10000");
        if (!UsesConsumerGroupProtocol)
        {
            // Classic protocol only: with group.protocol=consumer (KIP-848) the broker owns assignment
            // and timeouts, and librdkafka refuses these three properties.
            config.SetIfAbsent("partition.assignment.strategy", "cooperative-sticky");
            // Brokers reject session.timeout.ms below group.min.session.timeout.ms (6000 by default): 6 s
            // notices a crashed worker soonest. Heartbeats come from librdkafka's own thread, so .NET GC
            // pauses do not delay them.
            config.SetIfAbsent("session.timeout.ms", "6000");
            // After a graceful leave the survivors hear of the rebalance only in a heartbeat response: at
            // the default 3 s that was the takeover time. 500 ms bounds it to half a second (KIP-62
            // heartbeats are tiny; brokers accept any interval below the session timeout).
            config.SetIfAbsent("heartbeat.interval.ms", "500");
        }

        return config;
    }
}
