using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Contracts;
using Ingest.Testing;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The fault matrix's real three-node Kafka (KRaft, RF 3, <c>min.insync.replicas=2</c>: what kafka.sh --brokers 3
/// gives), shared by the real-broker cells one at a time (the fault collection is not parallel). Started at the first
/// cell that needs it — a run filtered to other cells pays nothing — and stopped with the collection. Each cell takes
/// it healthy (every node up, every partition with its full ISR) and brings its own topic, group and database.
/// <c>INGEST_TEST_KAFKA3_DIR</c> names a directory where a cluster is kept between runs (started there when missing,
/// never stopped by the tests): for iterating on the broker cells without a 40 s start each time.
/// </summary>
public sealed class RealCluster : IAsyncDisposable
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(120);
    private readonly SemaphoreSlim _starting = new(1, 1);
    private LocalKafka? _cluster;

    /// <summary>Why the real cells cannot run here, or null when they can.</summary>
    public static string? Unavailable => LocalKafka.Available
        ? null
        : "no real three-node Kafka here: ../shared/kafka/kafka.sh (developers' machines and CI) is absent";

    /// <summary>The cluster, started on first use.</summary>
    public async Task<LocalKafka> GetAsync(CancellationToken ct)
    {
        await _starting.WaitAsync(ct);
        try
        {
            if (_cluster is null)
            {
                var clock = Stopwatch.StartNew();
                _cluster = await LocalKafka.StartAsync(3, Environment.GetEnvironmentVariable("INGEST_TEST_KAFKA3_DIR"), ct);
                Matrix.Report(string.Create(CultureInfo.InvariantCulture,
                    $"REAL three-node Kafka at {_cluster.BootstrapServers} ready in {clock.Elapsed.TotalSeconds:0.0}s"));
            }

            return _cluster;
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>
    /// The cluster with every node running (restarted and resumed if a cell left one down or paused) and every partition
    /// of every topic led and fully in sync, so that no cell inherits the previous one's fault.
    /// </summary>
    public async Task<LocalKafka> GetHealthyAsync(CancellationToken ct)
    {
        var cluster = await GetAsync(ct);
        await cluster.WhenStartedAsync();
        var down = Enumerable.Range(1, cluster.Brokers).Where(n => !cluster.IsRunning(n)).ToList();
        await Task.WhenAll(down.Select(n => cluster.UpAsync(n, ct))); // together: a lone node cannot start without a quorum
        for (var node = 1; node <= cluster.Brokers; node++)
        {
            cluster.Resume(node);
        }

        await WaitFullyReplicatedAsync(cluster, ct);
        return cluster;
    }

    /// <summary>Waits until all brokers are registered and every partition has a leader and its full ISR.</summary>
    public static async Task WaitFullyReplicatedAsync(LocalKafka cluster, CancellationToken ct)
    {
        using var admin = Admin(cluster.BootstrapServers);
        await Eventually.UntilAsync(
            () => Lagging(admin, cluster.Brokers),
            lagging => lagging.Count == 0, HealthTimeout,
            lagging => $"Kafka not fully replicated: {string.Join(", ", lagging.Take(10))}\n" +
                string.Join('\n', Enumerable.Range(1, cluster.Brokers).Select(n => $"--- node {n} ---\n{cluster.LogTail(n, 15)}")),
            ct);
    }

    /// <summary>Creates a topic (and its dead-letter topic) with the durable settings a deployment uses.</summary>
    public static async Task<string> CreateTopicAsync(string bootstrapServers, int partitions, CancellationToken ct)
    {
        var topic = $"faults-{Guid.NewGuid():N}";
        using var admin = Admin(bootstrapServers);
        await admin.CreateTopicsAsync([.. new[] { topic, IngestTopics.DeadLetterFor(topic) }.Select(name => new TopicSpecification
        {
            Name = name,
            NumPartitions = partitions,
            ReplicationFactor = 3,
            Configs = new Dictionary<string, string> { ["min.insync.replicas"] = "2", ["compression.type"] = "producer" },
        })]);
        await Eventually.UntilAsync(
            () => Partitions(admin, topic), ps => ps.Count == partitions && ps.All(p => p.Leader >= 0 && p.InSyncReplicas.Length == 3),
            HealthTimeout, ps => $"topic {topic}: {ps.Count} partitions, not all led and in sync", ct);
        return topic;
    }

    /// <summary>Deletes a cell's topics, so that the next cells' health checks only wait for what they use.</summary>
    public static async Task DeleteTopicAsync(string bootstrapServers, string topic)
    {
        using var admin = Admin(bootstrapServers);
        try
        {
            await admin.DeleteTopicsAsync([topic, IngestTopics.DeadLetterFor(topic)]);
        }
        catch (DeleteTopicsException)
        {
            // Best effort: a leftover topic only costs the next health check a few more partitions to look at.
        }
    }

    /// <summary>
    /// Partitions of <paramref name="topic"/>: leader, replicas (preferred first) and ISR; none when the topic or the
    /// cluster does not answer (a metadata request sent to a paused or dying node times out: callers poll again).
    /// </summary>
    public static List<PartitionMetadata> Partitions(IAdminClient admin, string topic)
    {
        try
        {
            return admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == topic) is { Error.IsError: false } t
                ? [.. t.Partitions]
                : [];
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_TimedOut)
        {
            return [];
        }
    }

    /// <summary>For failure messages: which nodes run, the group's coordinator, and every partition not led or not fully in sync.</summary>
    public static string Describe(LocalKafka cluster, string topic, string groupId)
    {
        using var admin = Admin(cluster.BootstrapServers);
        var nodes = string.Join(", ", Enumerable.Range(1, cluster.Brokers).Select(n => $"node {n} {(cluster.IsRunning(n) ? "running" : "down")}"));
        string coordinator;
        try
        {
            var group = admin.DescribeConsumerGroupsAsync([groupId]).GetAwaiter().GetResult().ConsumerGroupDescriptions[0];
            coordinator = $"group {group.State}, coordinator {group.Coordinator?.Id}, {group.Members.Count} members";
        }
        catch (KafkaException ex)
        {
            coordinator = $"group not described: {ex.Error.Reason}";
        }

        var lagging = Lagging(admin, cluster.Brokers);
        var led = string.Join(", ", Partitions(admin, topic).Select(p => $"{p.PartitionId}:{p.Leader}"));
        return $"Kafka: {nodes}; {coordinator}; {topic} leaders {led}; not fully replicated: " +
            (lagging.Count == 0 ? "none" : string.Join(", ", lagging.Take(20)));
    }

    public static IAdminClient Admin(string bootstrapServers) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, SocketTimeoutMs = 10_000 })
            .SetLogHandler((_, _) => { }).Build();

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _starting.Dispose();
    }

    private static List<string> Lagging(IAdminClient admin, int brokers)
    {
        try
        {
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(5));
            var lagging = metadata.Topics
                .SelectMany(t => t.Partitions.Where(p => p.Leader < 0 || p.InSyncReplicas.Length < p.Replicas.Length)
                    .Select(p => $"{t.Topic}/{p.PartitionId} leader {p.Leader} isr [{string.Join(',', p.InSyncReplicas)}] of [{string.Join(',', p.Replicas)}]"))
                .ToList();
            return metadata.Brokers.Count < brokers ? [$"{metadata.Brokers.Count} of {brokers} brokers registered", .. lagging] : lagging;
        }
        catch (KafkaException ex)
        {
            return [$"metadata: {ex.Error.Reason}"];
        }
    }
}
