using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.DevBroker;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Support;

/// <summary>
/// A test's own Postgres cluster, topic and consumer group, with workers as child processes: for tests that stop the
/// database, kill workers or change group timing, which would disturb others. The broker is the test's own mock
/// cluster (<see cref="CreateAsync(int, CancellationToken)"/>: for what only the mock can do, such as injected
/// request errors or its 5 MiB retention), or the suite's broker when that is a real Kafka
/// (<see cref="CreateAsync(KafkaFixture, int, CancellationToken)"/>: failover timings are the real group
/// coordinator's, and a mock fixture still gets a mock cluster of its own, since group timing is set per cluster).
/// </summary>
public sealed class IsolatedStack : IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];

    private IsolatedStack(
        BrokerKind kind, string bootstrapServers, MockCluster? mock, string topic, PrivatePostgres postgres, string connectionString, int partitions)
    {
        Kind = kind;
        BootstrapServers = bootstrapServers;
        Mock = mock;
        Topic = topic;
        Postgres = postgres;
        ConnectionString = connectionString;
        Partitions = partitions;
        // No pool on the test's side: its connections must not outlive a database restart.
        Database = new StoredRows(new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        Producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
            LingerMs = 5,
        }).Build();
    }

    /// <summary>What the broker is: <see cref="BrokerKind.Mock"/> for the stack's own mock cluster.</summary>
    public BrokerKind Kind { get; }

    public bool IsMock => Mock is not null;

    public string BootstrapServers { get; }

    /// <summary>The stack's own mock cluster (fault injection, group timing); null on a real broker.</summary>
    public MockCluster? Mock { get; }

    public string Topic { get; }

    public PrivatePostgres Postgres { get; }

    public string ConnectionString { get; }

    public int Partitions { get; }

    public string GroupId { get; } = $"ingest-worker-{Guid.NewGuid():N}";

    public StoredRows Database { get; }

    public IProducer<byte[], byte[]> Producer { get; }

    /// <summary>A stack on a mock cluster of its own, whatever the suite's broker is.</summary>
    public static async Task<IsolatedStack> CreateAsync(int partitions, CancellationToken cancellationToken)
    {
        const string Topic = "payloads";
        var mock = new MockCluster(brokers: 3);
        // KIP-848 timing as a broker with group.consumer.heartbeat.interval.ms=500 and group.consumer.session.timeout.ms=6000
        // (and the matching min.*) would apply it: failovers bounded by the session stay short on the mock.
        mock.SetGroupConsumerHeartbeatInterval((int)GroupTiming.MockConsumerHeartbeat.TotalMilliseconds);
        mock.SetGroupConsumerSessionTimeout((int)GroupTiming.MockConsumerSession.TotalMilliseconds);
        mock.CreateTopic(Topic, partitions, 3);
        mock.CreateTopic(IngestTopics.DeadLetterFor(Topic), partitions, 3);
        var (postgres, connectionString) = await StartPostgresAsync(cancellationToken);
        return new IsolatedStack(BrokerKind.Mock, mock.BootstrapServers, mock, Topic, postgres, connectionString, partitions);
    }

    /// <summary>A stack on the suite's broker with a topic of its own when that is a real Kafka; else on a mock cluster of its own.</summary>
    public static async Task<IsolatedStack> CreateAsync(KafkaFixture kafka, int partitions, CancellationToken cancellationToken)
    {
        if (kafka.IsMock)
        {
            return await CreateAsync(partitions, cancellationToken);
        }

        var topic = await kafka.CreateTopicAsync("payloads", partitions, cancellationToken);
        var (postgres, connectionString) = await StartPostgresAsync(cancellationToken);
        return new IsolatedStack(kafka.Kind, kafka.BootstrapServers, null, topic, postgres, connectionString, partitions);
    }

    private static async Task<(PrivatePostgres, string)> StartPostgresAsync(CancellationToken cancellationToken)
    {
        var postgres = await PrivatePostgres.StartAsync(cancellationToken);
        return (postgres, await postgres.CreateDatabaseAsync("ingest", cancellationToken));
    }

    /// <summary>The workers' recent output, for failure messages.</summary>
    public string WorkerOutput => string.Join("\n---\n", _workers.Select(w => w.Output));

    /// <summary>Starts a worker process against this stack.</summary>
    public async Task<WorkerProcess> StartWorkerAsync(CancellationToken cancellationToken, params string[] extraArgs)
    {
        var worker = await WorkerProcess.StartAsync(
        [
            $"--Kafka:BootstrapServers={BootstrapServers}",
            // The mock answers an empty Fetch only after the whole fetch.wait.max.ms (500 ms); a real broker answers
            // as soon as data arrives, so there the worker keeps its own default.
            .. (IsMock ? ["--Kafka:fetch.wait.max.ms=10"] : Array.Empty<string>()),
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
            BootstrapServers = BootstrapServers,
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
        Mock?.Dispose();
    }
}
