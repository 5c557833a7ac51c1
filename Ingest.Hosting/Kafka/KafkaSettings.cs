using Microsoft.Extensions.Configuration;

namespace Ingest.Hosting.Kafka;

/// <summary>
/// The <c>Kafka</c> configuration section as librdkafka properties, shared by every client of a process:
/// <c>Kafka:BootstrapServers</c> becomes <c>bootstrap.servers</c> and every other key (<c>Kafka:security.protocol</c>,
/// <c>Kafka:sasl.username</c>, <c>Kafka:message.max.bytes</c>, …) is passed as is, so TLS/SASL and tuning need no code
/// change. Each process adds its own client's settings on top (the API's producer, the worker's consumer).
/// </summary>
public sealed class KafkaSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Kafka";

    /// <summary>Configuration key of the broker list.</summary>
    public const string BootstrapServersKey = Section + ":BootstrapServers";

    // librdkafka consumer-only properties a producer or admin client would warn about ("ignored by this producer").
    private static readonly string[] ConsumerOnlyPrefixes =
    [
        "group.", "session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy", "fetch.",
        "auto.offset.reset", "enable.auto.", "auto.commit.", "max.poll.interval.ms", "isolation.level",
        "queued.", "enable.partition.eof", "check.crcs", "coordinator.query.interval.ms",
    ];

    /// <summary>librdkafka property name → value, <c>bootstrap.servers</c> included.</summary>
    public Dictionary<string, string> Client { get; } = new(StringComparer.Ordinal);

    /// <summary>The broker list (<c>Kafka:BootstrapServers</c>); required.</summary>
    public string? BootstrapServers => Client.GetValueOrDefault("bootstrap.servers");

    /// <summary>The passthrough properties without the consumer-only ones, for a producer or an admin client.</summary>
    public Dictionary<string, string> ProducerClient =>
        Client.Where(s => !ConsumerOnlyPrefixes.Any(p => s.Key.StartsWith(p, StringComparison.Ordinal)))
            .ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);

    /// <summary>Reads <paramref name="section"/> (the <c>Kafka</c> section) into <see cref="Client"/>.</summary>
    public KafkaSettings Load(IConfiguration section)
    {
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                Client[string.Equals(key, "BootstrapServers", StringComparison.OrdinalIgnoreCase) ? "bootstrap.servers" : key] = value;
            }
        }

        return this;
    }
}
