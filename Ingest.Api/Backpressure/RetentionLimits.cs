using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Hosting.Kafka;

namespace Ingest.Api.Backpressure;

/// <summary>What the payload topic keeps per partition by size, where that was learnt, and whether it is known.</summary>
/// <param name="Bytes">Bytes kept per partition; null when the topic keeps everything until <c>retention.ms</c>.</param>
/// <param name="Batches">Record batches kept per partition; null when unbounded.</param>
/// <param name="Source">Where the numbers come from, for logs and refusals.</param>
/// <param name="Known">False when the broker could not say (the previous limits, if any, stay in force).</param>
public sealed record RetentionLimits(long? Bytes, long? Batches, string Source, bool Known = true)
{
    /// <summary>
    /// librdkafka's mock cluster (the embedded dev broker) keeps 5 MiB and 100,000 record batches per partition and drops
    /// the oldest silently (rdkafka_mock.c, <c>mpart->max_size</c>/<c>max_cnt</c>); it answers no DescribeConfigs.
    /// </summary>
    public static RetentionLimits EmbeddedBroker { get; } =
        new(5L * 1024 * 1024, 100_000, "a broker that cannot describe its configs, taken to keep what the embedded broker keeps: 5 MiB / 100,000 batches per partition");

    /// <summary>The limit that keeps a backlog within <paramref name="share"/> of these, or null when nothing by size is dropped.</summary>
    public BacklogLimit? ToLimit(double share, long unknownMessageBytes) =>
        Bytes is null && Batches is null
            ? null
            : new BacklogLimit(
                Bytes is { } b ? (long)(b * share) : long.MaxValue,
                Batches is { } n ? Math.Max(1, (long)(n * share)) : long.MaxValue,
                unknownMessageBytes);

    /// <summary>
    /// Asks the broker: its DescribeConfigs support first (the mock refuses that at once, where a topic's DescribeConfigs
    /// would wait for a controller it never names), then the topic's effective <c>retention.bytes</c>.
    /// </summary>
    public static async Task<RetentionLimits> ReadAsync(IAdminClient admin, string topic, Metadata cluster, TimeSpan timeout)
    {
        // A broker known by id: metadata answered over the bootstrap connection names its originating broker -1, and a
        // DescribeConfigs for broker "-1" waits its whole timeout for a broker that never appears instead of being refused.
        var brokerId = cluster.OriginatingBrokerId >= 0 ? cluster.OriginatingBrokerId : cluster.Brokers[0].BrokerId;
        var options = new DescribeConfigsOptions { RequestTimeout = timeout };
        try
        {
            await admin.DescribeConfigsAsync(
                [new ConfigResource { Type = ResourceType.Broker, Name = brokerId.ToString(CultureInfo.InvariantCulture) }], options);
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_UnsupportedFeature)
        {
            return EmbeddedBroker;
        }
        catch (KafkaException)
        {
            // Supported but refused (no DescribeConfigs right on the cluster): the topic's own may still be allowed.
        }

        try
        {
            var described = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = topic }], options);
            var value = described[0].Entries.TryGetValue("retention.bytes", out var entry) ? entry.Value : null;
            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bytes))
            {
                // A broker lists every config, defaults included: no value here is an answer we cannot trust.
                return new RetentionLimits(null, null, $"topic {topic}: DescribeConfigs gave no retention.bytes", Known: false);
            }

            return bytes >= 0
                ? new RetentionLimits(bytes, null, $"topic {topic}: retention.bytes={bytes}")
                : new RetentionLimits(null, null, $"topic {topic}: retention.bytes={bytes}, nothing is dropped by size");
        }
        catch (KafkaException ex)
        {
            return new RetentionLimits(
                null, null, $"topic {topic}: its configs could not be read ({ex.Error.Reason}); set Api:RetainedBytesPerPartition", Known: false);
        }
    }

    /// <summary>An admin client on the API's <c>Kafka:*</c> settings that never creates a topic by asking for it.</summary>
    public static IAdminClient CreateAdmin(KafkaSettings kafka, string clientId) => KafkaAdmin.Create(kafka, clientId);
}
