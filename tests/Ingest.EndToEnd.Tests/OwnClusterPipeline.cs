using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Testing;
using Ingest.Testing.Hosting;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// API and worker on a mock cluster of the test's own, for tests that take brokers down: fault injection on the
/// shared fixture's cluster would break every test running beside them.
/// </summary>
public sealed class OwnClusterPipeline : IAsyncDisposable
{
    public const string Key = "own-cluster-key";
    private readonly List<RunningApp> _apps = [];

    private OwnClusterPipeline(MockCluster cluster, string topic, int partitions, string connectionString)
    {
        Cluster = cluster;
        Partitions = partitions;
        Topic = topic;
        ConnectionString = connectionString;
    }

    public MockCluster Cluster { get; }

    public string Topic { get; }

    /// <summary>The topic's partition count.</summary>
    public int Partitions { get; }

    public string ConnectionString { get; }

    public RunningApp? Api { get; private set; }

    public static async Task<OwnClusterPipeline> CreateAsync(PostgresFixture postgres, int partitions, CancellationToken cancellationToken)
    {
        var cluster = new MockCluster(brokers: 3);
        var topic = $"own-{Guid.NewGuid():N}";
        cluster.CreateTopic(topic, partitions, 3);
        cluster.CreateTopic(topic + ".dlq", partitions, 3);
        return new OwnClusterPipeline(cluster, topic, partitions, await postgres.CreateDatabaseAsync(cancellationToken));
    }

    public async Task StartAsync(IEnumerable<string> apiArgs, CancellationToken cancellationToken)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        await StartWorkerAsync(cancellationToken);
        Api = await RunningApp.StartAsync(
            Ingest.Api.Program.Build,
            [.. CommonArgs(), $"--Ingest:Projects:p1:Keys:0:Sha256={hash}", "--Ingest:Projects:p1:Keys:0:Scopes=ingest,read", .. apiArgs],
            cancellationToken);
        _apps.Insert(0, Api);
    }

    /// <summary>The running worker, or null while it is stopped.</summary>
    public RunningApp? Worker { get; private set; }

    /// <summary>Starts a worker in the pipeline's group (after <see cref="StopWorkerAsync"/>, a new one).</summary>
    public async Task StartWorkerAsync(CancellationToken cancellationToken)
    {
        Worker = await RunningApp.StartAsync(Ingest.Worker.Program.Build, [.. CommonArgs()], cancellationToken);
        _apps.Add(Worker);
    }

    /// <summary>Graceful stop of the worker: it drains, commits and leaves the group.</summary>
    public async Task StopWorkerAsync()
    {
        await Worker!.StopAsync();
        Worker = null;
    }

    public HttpClient Client()
    {
        var client = new HttpClient { BaseAddress = Api!.Address, Timeout = TimeSpan.FromSeconds(120) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return client;
    }

    /// <summary>Rows stored for the pipeline's database, read directly (not through the API).</summary>
    public Task<long> StoredCountAsync(CancellationToken cancellationToken) => new StoredRows(ConnectionString).CountAsync(cancellationToken);

    /// <summary>
    /// Waits until at least <paramref name="rows"/> rows are stored; after <paramref name="deadline"/> fails with
    /// <paramref name="failure"/> and <see cref="DescribeAsync"/>.
    /// </summary>
    public async Task WaitForStoredAsync(long rows, TimeSpan deadline, string failure, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        while (await StoredCountAsync(cancellationToken) < rows)
        {
            Assert.True(DateTime.UtcNow < until, $"{failure}: {await DescribeAsync(cancellationToken)}");
            await Task.Delay(100, cancellationToken); // polling a condition with a deadline
        }
    }

    /// <summary>
    /// For a failure message: per partition of the topic its log end and the group's committed offset, and whether the
    /// worker's host is still running — tells a pipeline that never received from one whose worker stalled or stopped.
    /// </summary>
    public async Task<string> DescribeAsync(CancellationToken cancellationToken)
    {
        var stored = await StoredCountAsync(cancellationToken);
        var worker = Worker is null ? "stopped by the test"
            : Worker.App.Lifetime.ApplicationStopping.IsCancellationRequested ? "its host is stopping (it ended)" : "running";
        try
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
            {
                BootstrapServers = Cluster.BootstrapServers,
                GroupId = GroupId,
                EnableAutoCommit = false,
            }).Build();
            var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToList();
            var committed = consumer.Committed(partitions, TimeSpan.FromSeconds(5));
            var described = partitions.Select(tp => string.Create(CultureInfo.InvariantCulture,
                $"partition {tp.Partition.Value}: end {consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5)).High.Value}, committed {committed.First(c => c.Partition == tp.Partition).Offset}"));
            return $"{stored} rows stored; worker {worker}; {string.Join("; ", described)}";
        }
        catch (KafkaException ex)
        {
            return $"{stored} rows stored; worker {worker}; offsets unreadable: {ex.Error.Reason}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        Cluster.Dispose();
    }

    /// <summary>The workers' group; the API reads it too (its backlog guard counts what this group committed).</summary>
    public string GroupId { get; } = $"own-{Guid.NewGuid():N}";

    private IEnumerable<string> CommonArgs() =>
    [
        $"--Worker:GroupId={GroupId}",
        $"--Kafka:BootstrapServers={Cluster.BootstrapServers}",
        "--Kafka:fetch.wait.max.ms=10",
        $"--ConnectionStrings:Ingest={ConnectionString}",
        $"--Ingest:Topic={Topic}",
    ];
}
