using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.Testing;
using Ingest.Testing.MockKafka;

namespace Ingest.Worker.Tests;

/// <summary>
/// A test's own broker (a new mock cluster) and own Postgres cluster, with workers as child processes:
/// for tests that stop the database, kill workers or change group timing, which would disturb others.
/// </summary>
public sealed class IsolatedStack : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];

    private IsolatedStack(MockCluster mock, PrivatePostgres postgres, string connectionString, int partitions)
    {
        Mock = mock;
        Postgres = postgres;
        ConnectionString = connectionString;
        Partitions = partitions;
        // No pool on the test's side: its connections must not outlive a database restart.
        Database = new StoredRows(new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        Producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = mock.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
            LingerMs = 5,
        }).Build();
    }

    public const string Topic = "payloads";

    public MockCluster Mock { get; }

    public PrivatePostgres Postgres { get; }

    public string ConnectionString { get; }

    public int Partitions { get; }

    public string GroupId { get; } = "ingest-worker";

    public StoredRows Database { get; }

    public IProducer<byte[], byte[]> Producer { get; }

    public static async Task<IsolatedStack> CreateAsync(int partitions, CancellationToken cancellationToken)
    {
        var mock = new MockCluster(brokers: 3);
        mock.CreateTopic(Topic, partitions, 3);
        mock.CreateTopic(IngestTopics.DeadLetterFor(Topic), partitions, 3);
        var postgres = await PrivatePostgres.StartAsync(cancellationToken);
        var connectionString = await postgres.CreateDatabaseAsync("ingest", cancellationToken);
        return new IsolatedStack(mock, postgres, connectionString, partitions);
    }

    /// <summary>The workers' recent output, for failure messages.</summary>
    public string WorkerOutput => string.Join("\n---\n", _workers.Select(w => w.Output));

    /// <summary>Starts a worker process against this stack.</summary>
    public async Task<WorkerProcess> StartWorkerAsync(CancellationToken cancellationToken, params string[] extraArgs)
    {
        var worker = await WorkerProcess.StartAsync(
        [
            $"--Kafka:BootstrapServers={Mock.BootstrapServers}",
            "--Kafka:fetch.wait.max.ms=10",
            $"--ConnectionStrings:Ingest={ConnectionString}",
            $"--Ingest:Topic={Topic}",
            $"--Worker:GroupId={GroupId}",
            "--Worker:CommitInterval=00:00:00.200",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Ingest=Information",
            .. extraArgs,
        ], cancellationToken);
        _workers.Add(worker);
        return worker;
    }

    /// <summary>Produces one payload as the API would; <paramref name="bytes"/> defaults to a recognisable text.</summary>
    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync(string sessionId, long seq, byte[] bytes, CancellationToken cancellationToken)
    {
        var envelope = new PayloadEnvelope(
            WorkerScenario.Project, sessionId, seq, "application/octet-stream", PayloadCodec.Name, DateTimeOffset.UtcNow,
            Guid.NewGuid(), bytes.Length, XxHash3.HashToUInt64(bytes));
        return Producer.ProduceAsync(Topic, new Message<byte[], byte[]>
        {
            Key = envelope.Key,
            Value = PayloadCodec.Encode(bytes),
            Headers = envelope.WriteTo(new Headers()),
        }, cancellationToken);
    }

    /// <summary>Offsets committed by the workers' group, per partition.</summary>
    public long[] CommittedOffsets()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = Mock.BootstrapServers,
            GroupId = GroupId,
        }).Build();
        var committed = consumer.Committed(
            Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)), TimeSpan.FromSeconds(10));
        return [.. committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value)];
    }

    /// <summary>Asserts every session's payloads are stored once each, seq 0 … n-1 in applied order.</summary>
    public async Task AssertStoredInOrderAsync(IReadOnlyDictionary<string, int> expected, CancellationToken cancellationToken)
    {
        var rows = await Database.AllAsync(cancellationToken);
        Assert.Equal(expected.Values.Sum(), rows.Count);
        foreach (var session in rows.GroupBy(r => r.SessionId))
        {
            Assert.Equal(Enumerable.Range(0, expected[session.Key]).Select(i => (long)i), session.Select(r => r.Seq));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        Producer.Dispose();
        await Postgres.DisposeAsync();
        Mock.Dispose();
    }
}
