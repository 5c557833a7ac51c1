using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Contracts;

namespace Ingest.Ops;

/// <summary><c>topics ensure</c> and <c>topics describe</c>.</summary>
public static class TopicsCommands
{
    /// <summary>Creates the payload and dead-letter topics with durable settings when missing; never changes partitions.</summary>
    public static async Task<int> EnsureAsync(OpsContext context, int partitions, short? replication, int retentionHours, CancellationToken cancellationToken)
    {
        using var admin = context.Admin();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        var rf = replication ?? (short)Math.Min(3, metadata.Brokers.Count);
        var configs = new Dictionary<string, string>
        {
            ["min.insync.replicas"] = Math.Max(1, rf - 1).ToString(CultureInfo.InvariantCulture),
            ["unclean.leader.election.enable"] = "false",
            ["cleanup.policy"] = "delete",
            ["retention.ms"] = (retentionHours * 3_600_000L).ToString(CultureInfo.InvariantCulture),
            ["compression.type"] = "producer",
            ["max.message.bytes"] = "8388608",
        };
        var results = new List<TopicStatus>();
        foreach (var topic in new[] { context.Topic, IngestTopics.DeadLetterFor(context.Topic) })
        {
            var existing = metadata.Topics.FirstOrDefault(t => t.Topic == topic && !t.Error.IsError);
            if (existing is not null)
            {
                var note = existing.Partitions.Count == partitions
                    ? "exists"
                    : $"exists with {existing.Partitions.Count} partitions (not {partitions}); partitions are never changed on a live topic — that would remap sessions";
                results.Add(new TopicStatus(topic, existing.Partitions.Count, note));
                continue;
            }

            try
            {
                await admin.CreateTopicsAsync(
                    [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = rf, Configs = configs }],
                    new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
                results.Add(new TopicStatus(topic, partitions, $"created (replication {rf}, min.insync.replicas {configs["min.insync.replicas"]})"));
            }
            catch (CreateTopicsException ex) when (ex.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
            {
                results.Add(new TopicStatus(topic, partitions, "exists (created concurrently)"));
            }
            catch (KafkaException ex)
            {
                throw new OpsException($"cannot create topic {topic}: {ex.Error.Reason} (the embedded mock broker has no CreateTopics; its topics are created by the dev stack)");
            }
        }

        context.Print(results, w => results.ForEach(r => w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Topic}: {r.Partitions} partitions, {r.Status}"))));
        return 0;
    }

    /// <summary>Partitions, leaders, replicas and in-sync replicas, and the durability configs when the broker can describe them.</summary>
    public static async Task<int> DescribeAsync(OpsContext context, CancellationToken cancellationToken)
    {
        using var admin = context.Admin();
        var metadata = admin.GetMetadata(context.Topic, TimeSpan.FromSeconds(10));
        var topic = metadata.Topics.SingleOrDefault(t => t.Topic == context.Topic);
        if (topic is null || topic.Error.IsError)
        {
            throw new OpsException($"topic {context.Topic} not found ({topic?.Error.Reason ?? "no metadata"})");
        }

        Dictionary<string, string>? configs = null;
        string? configError = null;
        try
        {
            var described = await admin.DescribeConfigsAsync(
                [new ConfigResource { Type = ResourceType.Topic, Name = context.Topic }],
                new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
            configs = described[0].Entries.Where(e => Durability.Contains(e.Key)).ToDictionary(e => e.Key, e => e.Value.Value);
        }
        catch (KafkaException ex)
        {
            configError = $"configs unavailable: {ex.Error.Reason} (the embedded mock broker cannot describe configs)";
        }

        var partitions = topic.Partitions.OrderBy(p => p.PartitionId)
            .Select(p => new { partition = p.PartitionId, leader = p.Leader, replicas = p.Replicas, isr = p.InSyncReplicas }).ToList();
        context.Print(new { topic = context.Topic, brokers = metadata.Brokers.Count, partitions, configs, configError }, w =>
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"topic {context.Topic}: {partitions.Count} partitions on {metadata.Brokers.Count} broker(s)"));
            foreach (var p in partitions)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  partition {p.partition,3}  leader {p.leader}  replicas [{string.Join(',', p.replicas)}]  isr [{string.Join(',', p.isr)}]"));
            }

            w.WriteLine(configError ?? string.Join(Environment.NewLine, configs!.Select(c => $"  {c.Key} = {c.Value}")));
        });
        return 0;
    }

    public sealed record TopicStatus(string Topic, int Partitions, string Status);

    private static readonly HashSet<string> Durability = new(StringComparer.Ordinal)
    {
        "min.insync.replicas", "unclean.leader.election.enable", "cleanup.policy", "retention.ms", "retention.bytes", "compression.type", "max.message.bytes",
    };
}
