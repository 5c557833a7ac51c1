using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Hosting.Kafka;
using Ingest.Worker.Consuming;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Durability;

/// <summary>
/// Before the consumer subscribes (<see cref="Startup.WorkerStartup"/>): reads the payload topic's replication (metadata)
/// and settings (DescribeConfigs) and refuses to start when they contradict durability
/// (<see cref="TopicDurabilityRules"/>), warns on the lesser findings. A broker that cannot describe configs (librdkafka's
/// mock cluster, the embedded dev broker) or cannot be asked in time is said once, and the worker goes on: the check must
/// never be why a worker is down.
/// </summary>
public sealed class TopicDurabilityCheck(
    IOptions<KafkaSettings> kafka, IOptions<KafkaOptions> consumer, IOptions<DurabilityCheckOptions> options, ILogger<TopicDurabilityCheck> logger)
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DescribeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Checks the payload topic; throws <see cref="TopicDurabilityException"/> when its settings lose payloads.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var topic = consumer.Value.Topic;
        if (!options.Value.CheckTopicDurability)
        {
            Log.Disabled(logger, topic);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        using var admin = KafkaAdmin.Create(kafka.Value, "ingest-worker-check");
        Metadata cluster;
        try
        {
            // All topics: asking for one by name lets a broker with auto-creation create it.
            cluster = await Task.Run(() => admin.GetMetadata(MetadataTimeout), cancellationToken);
        }
        catch (KafkaException ex)
        {
            Log.CannotCheck(logger, topic, $"no metadata from the broker ({ex.Error.Reason})", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return;
        }

        var metadata = cluster.Topics.SingleOrDefault(t => t.Topic == topic);
        if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
        {
            Log.CannotCheck(logger, topic, "the topic does not exist yet", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return;
        }

        var replicationFactor = metadata.Partitions.Min(p => p.Replicas.Length);
        // The broker that answered, when it is known by id: a metadata answer over the bootstrap connection names it -1.
        var broker = cluster.OriginatingBrokerId >= 0 ? cluster.OriginatingBrokerId : cluster.Brokers[0].BrokerId;
        if (await DescribeAsync(admin, broker, topic, started) is not { } configs)
        {
            return;
        }

        var findings = TopicDurabilityRules.Evaluate(topic, replicationFactor, configs, options.Value.OutagePromise);
        foreach (var warning in findings.Where(f => f.Severity == FindingSeverity.Warn))
        {
            Log.Warning(logger, warning.Message);
        }

        if (findings.FirstOrDefault(f => f.Severity == FindingSeverity.Refuse) is { } refusal)
        {
            var message = $"refusing to start: {refusal.Message} (Worker:CheckTopicDurability=false skips this check)";
            Log.Refused(logger, message);
            throw new TopicDurabilityException(message);
        }

        Log.Checked(logger, topic, replicationFactor, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>The topic's configs, or null (said once) when the broker cannot or will not describe them.</summary>
    private async Task<Dictionary<string, string?>?> DescribeAsync(IAdminClient admin, int brokerId, string topic, long started)
    {
        // One request for the topic and the broker that answered the metadata: with a broker resource in it, librdkafka
        // sends it to that broker (already connected) instead of the controller, which a cluster naming none (the mock)
        // would make it wait for the whole timeout; a broker that lacks DescribeConfigs is known at once from ApiVersions.
        ConfigResource[] resources =
        [
            new() { Type = ResourceType.Topic, Name = topic },
            new() { Type = ResourceType.Broker, Name = brokerId.ToString(CultureInfo.InvariantCulture) },
        ];
        Dictionary<string, ConfigEntryResult> entries;
        try
        {
            var described = await admin.DescribeConfigsAsync(resources, new DescribeConfigsOptions { RequestTimeout = DescribeTimeout });
            entries = described.Single(r => r.ConfigResource.Type == ResourceType.Topic).Entries;
        }
        catch (DescribeConfigsException ex) when (ex.Results.Single(r => r.ConfigResource.Type == ResourceType.Topic) is { } report)
        {
            // A resource refused (e.g. no right to describe the cluster's configs): the topic's own may still be there.
            if (report.Error.IsError)
            {
                Log.CannotCheck(logger, topic, $"the broker refuses to describe its configs ({report.Error.Reason})",
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return null;
            }

            entries = report.Entries;
        }
        catch (KafkaException ex)
        {
            Log.CannotCheck(logger, topic, $"the broker cannot describe configs ({ex.Error.Reason}); the embedded mock broker never can",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return null;
        }

        return entries.ToDictionary(e => e.Key, e => (string?)e.Value.Value, StringComparer.Ordinal);
    }
}

/// <summary>The payload topic's settings contradict durability; the message names the topic and the setting.</summary>
public sealed class TopicDurabilityException : Exception
{
    public TopicDurabilityException(string message)
        : base(message)
    {
    }

    public TopicDurabilityException()
    {
    }

    public TopicDurabilityException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>A configuration finding, not a fault in the code: no stack trace in the host's "failed to start" log.</summary>
    public override string? StackTrace => null;
}
