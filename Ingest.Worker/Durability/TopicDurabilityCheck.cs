using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Worker.Consuming;
using Ingest.Worker.Startup;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Durability;

/// <summary>
/// Before the consumer starts: reads the payload topic's replication (metadata) and settings (DescribeConfigs) and
/// refuses to start when they contradict durability (<see cref="TopicDurabilityRules"/>), warns on the lesser
/// findings. A broker that cannot describe configs (librdkafka's mock cluster, the embedded dev broker) or cannot
/// be asked in time is said once, and the worker goes on: the check must never be why a worker is down.
/// </summary>
public sealed class TopicDurabilityCheck(
    IOptions<KafkaOptions> kafka, IOptions<DurabilityCheckOptions> options, StartupTimeline timeline, ILogger<TopicDurabilityCheck> logger)
    : IHostedService
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DescribeTimeout = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await CheckAsync(cancellationToken);
        timeline.Mark(StartupPhase.DurabilityChecked); // not reached when it refuses: the worker stops
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        var topic = kafka.Value.Topic;
        if (!options.Value.CheckTopicDurability)
        {
            Log.Disabled(logger, topic);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var config = new AdminClientConfig(kafka.Value.BuildProducerConfig()) { ClientId = "ingest-worker-check" };
        // Producer-only properties in the passthrough config would each log "ignored by this admin client".
        using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
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
        try
        {
            // A topic's DescribeConfigs waits for the controller, which a cluster that names none (the mock) makes
            // last the whole timeout; a broker's goes to that broker (the one already connected) and is refused at once
            // where unsupported.
            await admin.DescribeConfigsAsync(
                [new ConfigResource { Type = ResourceType.Broker, Name = cluster.OriginatingBrokerId.ToString(CultureInfo.InvariantCulture) }],
                new DescribeConfigsOptions { RequestTimeout = DescribeTimeout });
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_UnsupportedFeature)
        {
            Log.CannotCheck(logger, topic, $"the broker cannot describe configs ({ex.Error.Reason}); the embedded mock broker never can",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return;
        }
        catch (KafkaException)
        {
            // Supported but refused (e.g. no DescribeConfigs right on the cluster): the topic's own may still be allowed.
        }

        Dictionary<string, string?> configs;
        try
        {
            var described = await admin.DescribeConfigsAsync(
                [new ConfigResource { Type = ResourceType.Topic, Name = topic }], new DescribeConfigsOptions { RequestTimeout = DescribeTimeout });
            configs = described[0].Entries.ToDictionary(e => e.Key, e => (string?)e.Value.Value, StringComparer.Ordinal);
        }
        catch (KafkaException ex)
        {
            Log.CannotCheck(logger, topic, $"the broker cannot describe its configs ({ex.Error.Reason}); the embedded mock broker never can", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
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

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
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
