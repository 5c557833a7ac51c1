using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;
using Ingest.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;

namespace Ingest.Benchmarks;

/// <summary>The broker and Postgres the harness measures against, and the API/worker started on them.</summary>
public sealed class Stack(KafkaFixture kafka, PostgresFixture postgres, bool guardBookkeeping) : IAsyncDisposable
{
    public const string Key = "bench-key";

    public KafkaFixture Kafka => kafka;

    /// <param name="guardBookkeeping">
    /// True: APIs on topics no worker reads get a backlog limit out of reach (the guard on, never refusing). False: the
    /// topic's own retention decides (<c>--no-guard</c>, on a real broker: off), to measure what the guard costs.
    /// </param>
    public static async Task<Stack> StartAsync(bool guardBookkeeping = true)
    {
        // Kafka__BootstrapServers picks a real broker, as for the API and worker; else the embedded one.
        if (Environment.GetEnvironmentVariable("Kafka__BootstrapServers") is { Length: > 0 } servers)
        {
            Environment.SetEnvironmentVariable("INGEST_TEST_KAFKA", servers);
        }

        var kafka = await KafkaFixture.StartEmbeddedOrExternalAsync();
        var postgres = new PostgresFixture();
        await postgres.InitializeAsync();
        return new Stack(kafka, postgres, guardBookkeeping);
    }

    public string BrokerDescription => kafka.IsMock ? "embedded (librdkafka mock cluster, 3 brokers, RF 3)" : kafka.BootstrapServers;

    public Task<string> TopicAsync(string prefix, CancellationToken cancellationToken, int partitions = 12) =>
        kafka.CreateTopicAsync(prefix, partitions, cancellationToken);

    /// <summary>
    /// Fails when the broker no longer holds a pre-filled backlog whole: the embedded broker drops a partition's oldest
    /// messages past its retention (a few MiB) without a word, and the worker would then wait for rows that never come.
    /// </summary>
    public void AssertRetained(string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(kafka.Configure(new ConsumerConfig { GroupId = "bench-watermarks" })).Build();
        for (var partition = 0; partition < partitions; partition++)
        {
            var low = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).Low.Value;
            if (low > 0)
            {
                throw new InvalidOperationException(
                    $"the broker dropped the oldest {low} messages of {topic} partition {partition} (retention): the backlog is too large for it");
            }
        }
    }

    public async Task<string> DatabaseAsync(CancellationToken cancellationToken)
    {
        var database = await postgres.CreateDatabaseAsync(cancellationToken);
        await using var source = NpgsqlDataSource.Create(database);
        await Ingest.Storage.Schema.SchemaMigrator.ApplyAsync(
            source, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken);
        return database;
    }

    /// <summary>Drops a database of <see cref="DatabaseAsync"/> before the run ends, to give its disk space back at once.</summary>
    public async Task DropDatabaseAsync(string database, CancellationToken cancellationToken)
    {
        var name = new NpgsqlConnectionStringBuilder(database).Database;
        await using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Mostly a topic no worker reads (an API started with workersStore false): the API's backlog guard would refuse once a
    /// partition holds what the embedded broker keeps, so its limit is set far above what a run produces — its bookkeeping
    /// is still paid on every chunk, which is what the API scenarios measure.
    /// </summary>
    private const string UnreachableBacklogLimit = "--Api:RetainedBytesPerPartition=1099511627776";

    /// <summary>The API in this process; <paramref name="settings"/>: more <c>--Key=value</c> arguments, after (so overriding) the harness's own.</summary>
    public async Task<WebApplication> StartApiAsync(
        string topic, string database, CancellationToken cancellationToken, bool workersStore = false, IEnumerable<string>? settings = null)
    {
        var app = Ingest.Api.Program.Build(["--urls=http://127.0.0.1:0", .. ApiArguments(topic, database, workersStore), .. settings ?? []]);
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>The API's configuration for this broker, database and <see cref="Key"/> (without <c>--urls</c>).</summary>
    public IEnumerable<string> ApiArguments(string topic, string database, bool workersStore = false)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        return [
            .. Common(topic, database), $"--Ingest:Projects:bench:Keys:0:Sha256={hash}", "--Ingest:Projects:bench:Keys:0:Scopes=ingest,read",
            .. workersStore || !guardBookkeeping ? Array.Empty<string>() : [UnreachableBacklogLimit],
        ];
    }

    /// <summary>A worker in this process; <paramref name="settings"/>: more <c>--Key=value</c> arguments, after (so overriding) the harness's own.</summary>
    public async Task<WebApplication> StartWorkerAsync(
        string topic, string database, CancellationToken cancellationToken, IEnumerable<string>? settings = null)
    {
        var app = Ingest.Worker.Program.Build(["--urls=http://127.0.0.1:0", .. WorkerArguments(topic, database), .. settings ?? []]);
        await app.StartAsync(cancellationToken);
        return app;
    }

    /// <summary>A worker's configuration for this broker and database, in the topic's own group (without <c>--urls</c>).</summary>
    public IEnumerable<string> WorkerArguments(string topic, string database) => Common(topic, database);

    public static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    public async ValueTask DisposeAsync()
    {
        await postgres.DisposeAsync();
        await kafka.DisposeAsync();
    }

    private IEnumerable<string> Common(string topic, string database)
    {
        yield return "--Logging:LogLevel:Default=Warning";
        yield return $"--Kafka:BootstrapServers={kafka.BootstrapServers}";
        foreach (var (key, value) in kafka.ClientSettings)
        {
            yield return $"--Kafka:{key}={value}";
        }

        yield return $"--ConnectionStrings:Ingest={database}";
        yield return $"--Ingest:Topic={topic}";
        yield return $"--Worker:GroupId=bench-{topic}"; // the API reads it too: its backlog guard counts this group's commits
    }
}
