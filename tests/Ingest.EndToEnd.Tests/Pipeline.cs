using System.Net.Http.Headers;
using Ingest.Testing;
using Ingest.Testing.Hosting;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// One test's pipeline: its own topic, consumer group and database; the API and any number of
/// workers started in-process against the fixtures' broker and Postgres.
/// </summary>
public sealed class Pipeline : IAsyncDisposable
{
    public const string Project = TestApiKeys.Project;
    public const string OtherProject = TestApiKeys.OtherProject;
    public const string IngestReadKey = TestApiKeys.IngestReadKey;
    public const string ReadOnlyKey = TestApiKeys.ReadOnlyKey;
    public const string IngestOnlyKey = TestApiKeys.IngestOnlyKey;
    public const string OtherProjectKey = TestApiKeys.OtherProjectKey;
    public const string ReadEraseKey = TestApiKeys.ReadEraseKey;

    private readonly KafkaFixture _kafka;
    private readonly List<RunningApp> _workers = [];
    private RunningApp? _api;

    private Pipeline(KafkaFixture kafka, string topic, string database)
    {
        _kafka = kafka;
        Topic = topic;
        ConnectionString = database;
        GroupId = $"ingest-worker-{Guid.NewGuid():N}";
    }

    public string Topic { get; }

    public string BootstrapServers => _kafka.BootstrapServers;

    public string ConnectionString { get; }

    public string GroupId { get; }

    public RunningApp Api => _api ?? throw new InvalidOperationException("API not started.");

    public IReadOnlyList<RunningApp> Workers => _workers;

    public static async Task<Pipeline> CreateAsync(
        KafkaFixture kafka, PostgresFixture postgres, int partitions, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? topicConfigs = null)
    {
        var topic = await kafka.CreateTopicAsync("e2e", partitions, cancellationToken, topicConfigs);
        var database = await postgres.CreateDatabaseAsync(cancellationToken);
        return new Pipeline(kafka, topic, database);
    }

    public Task<RunningApp> StartApiAsync(CancellationToken cancellationToken) => StartApiAsync([], cancellationToken);

    /// <summary>Starts the API with <paramref name="extraArgs"/> (configuration as command-line arguments) on top of the common ones.</summary>
    public async Task<RunningApp> StartApiAsync(IEnumerable<string> extraArgs, CancellationToken cancellationToken)
    {
        // The API reads the workers' group too: its backlog guard counts what they committed.
        _api = await RunningApp.StartAsync(
            Ingest.Api.Program.Build,
            [.. CommonArgs(), $"--Worker:GroupId={GroupId}", .. TestApiKeys.ConfigurationArgs(), .. extraArgs],
            cancellationToken);
        return _api;
    }

    public Task<RunningApp> StartWorkerAsync(CancellationToken cancellationToken) => StartWorkerAsync([], cancellationToken);

    /// <summary>Starts a worker with <paramref name="extraArgs"/> (configuration as command-line arguments) on top of the common ones.</summary>
    public async Task<RunningApp> StartWorkerAsync(IEnumerable<string> extraArgs, CancellationToken cancellationToken)
    {
        var worker = await RunningApp.StartAsync(
            Ingest.Worker.Program.Build, [.. CommonArgs(), $"--Worker:GroupId={GroupId}", .. extraArgs], cancellationToken);
        _workers.Add(worker);
        return worker;
    }

    public HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = Api.Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Rows stored for the pipeline's database, read directly (not through the API).</summary>
    public Task<long> StoredCountAsync(CancellationToken cancellationToken) => new StoredRows(ConnectionString).CountAsync(cancellationToken);

    /// <summary>Waits until at least <paramref name="expected"/> rows are stored, or fails at the deadline.</summary>
    public Task WaitForStoredAsync(long expected, TimeSpan deadline, CancellationToken cancellationToken) =>
        Eventually.UntilAsync(
            () => StoredCountAsync(cancellationToken), count => count >= expected, deadline,
            count => $"Only {count} of {expected} payloads stored", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }
    }

    private IEnumerable<string> CommonArgs()
    {
        yield return $"--Kafka:BootstrapServers={_kafka.BootstrapServers}";
        foreach (var (key, value) in _kafka.ClientSettings)
        {
            yield return $"--Kafka:{key}={value}";
        }

        yield return $"--ConnectionStrings:Ingest={ConnectionString}";
        yield return $"--Ingest:Topic={Topic}";
    }
}
