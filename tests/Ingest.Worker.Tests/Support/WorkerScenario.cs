using System.IO.Hashing;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Support;

/// <summary>
/// One test's world: its own topic (and DLQ), consumer group and database, a producer built like the
/// API's, and any number of workers started against them.
/// </summary>
public sealed class WorkerScenario : IAsyncDisposable
{
    public const string Project = "p1";

    private readonly KafkaFixture _kafka;
    private readonly List<RunningWorker> _workers = [];

    private WorkerScenario(KafkaFixture kafka, string topic, string connectionString, int partitions)
    {
        _kafka = kafka;
        Topic = topic;
        Partitions = partitions;
        ConnectionString = connectionString;
        GroupId = $"worker-test-{Guid.NewGuid():N}";
        Producer = new ProducerBuilder<byte[], byte[]>(kafka.Configure(new ProducerConfig
        {
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
            LingerMs = 5,
        })).Build();
        Database = new StoredRows(connectionString);
    }

    public string Topic { get; }

    public string DeadLetterTopic => IngestTopics.DeadLetterFor(Topic);

    public int Partitions { get; }

    public string ConnectionString { get; }

    public string GroupId { get; }

    public IProducer<byte[], byte[]> Producer { get; }

    public StoredRows Database { get; }

    public IReadOnlyList<RunningWorker> Workers => _workers;

    public static async Task<WorkerScenario> CreateAsync(
        KafkaFixture kafka, PostgresFixture postgres, int partitions, CancellationToken cancellationToken)
    {
        var topic = await kafka.CreateTopicAsync("worker", partitions, cancellationToken);
        var database = await postgres.CreateDatabaseAsync(cancellationToken);
        return new WorkerScenario(kafka, topic, database, partitions);
    }

    public async Task<RunningWorker> StartWorkerAsync(CancellationToken cancellationToken, params string[] extraArgs)
    {
        var worker = await RunningWorkerExtensions.StartWorkerAsync([.. WorkerArgs(), .. extraArgs], cancellationToken);
        _workers.Add(worker);
        return worker;
    }

    /// <summary>An envelope for <paramref name="bytes"/> as the API would write it.</summary>
    public static PayloadEnvelope EnvelopeFor(string sessionId, long seq, byte[] bytes, string contentType = "application/octet-stream") =>
        new(Project, sessionId, seq, contentType, PayloadCodec.Name, DateTimeOffset.UtcNow, Guid.NewGuid(), bytes.Length, XxHash3.HashToUInt64(bytes));

    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync(PayloadEnvelope envelope, byte[] bytes, CancellationToken cancellationToken) =>
        ProduceRawAsync(envelope.Key, PayloadCodec.Encode(bytes), envelope.WriteTo(new Headers()), cancellationToken);

    public Task<DeliveryResult<byte[], byte[]>> ProduceRawAsync(byte[] key, byte[] value, Headers headers, CancellationToken cancellationToken) =>
        Producer.ProduceAsync(Topic, new Message<byte[], byte[]> { Key = key, Value = value, Headers = headers }, cancellationToken);

    /// <summary>Offsets committed by the scenario's group, per partition (-1001 when none).</summary>
    public long[] CommittedOffsets()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(_kafka.Configure(new ConsumerConfig { GroupId = GroupId })).Build();
        var committed = consumer.Committed(AllPartitions(Topic), TimeSpan.FromSeconds(10));
        return [.. committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value)];
    }

    /// <summary>The log end (high watermark) of each partition.</summary>
    public long[] LogEndOffsets()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(_kafka.Configure(new ConsumerConfig { GroupId = GroupId })).Build();
        return [.. AllPartitions(Topic).Select(p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value)];
    }

    /// <summary>Reads the dead-letter topic from the beginning until <paramref name="count"/> messages or the deadline.</summary>
    public List<ConsumeResult<byte[], byte[]>> ReadDeadLetters(int count, TimeSpan deadline)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(_kafka.Configure(new ConsumerConfig
        {
            GroupId = $"dlq-reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
        })).Build();
        consumer.Assign(AllPartitions(DeadLetterTopic).Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[], byte[]>>();
        var until = DateTime.UtcNow + deadline;
        while (results.Count < count && DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } result)
            {
                results.Add(result);
            }
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        Producer.Dispose();
    }

    private List<TopicPartition> AllPartitions(string topic) =>
        [.. Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p))];

    public IEnumerable<string> WorkerArgs()
    {
        yield return $"--Kafka:BootstrapServers={_kafka.BootstrapServers}";
        foreach (var (key, value) in _kafka.ClientSettings)
        {
            yield return $"--Kafka:{key}={value}";
        }

        yield return $"--ConnectionStrings:Ingest={ConnectionString}";
        yield return $"--Ingest:Topic={Topic}";
        yield return $"--Worker:GroupId={GroupId}";
        yield return "--Worker:CommitInterval=00:00:00.200";
        yield return "--Logging:LogLevel:Default=Warning";
        yield return "--Logging:LogLevel:Ingest=Information";
    }

    /// <summary>A message's last header <paramref name="name"/> as UTF-8 text; empty when it has none.</summary>
    public static string Header(ConsumeResult<byte[], byte[]> message, string name) =>
        message.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
}
