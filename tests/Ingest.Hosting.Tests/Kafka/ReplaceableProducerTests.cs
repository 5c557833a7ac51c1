using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Hosting.Kafka;
using Ingest.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Hosting.Tests.Kafka;

/// <summary>Fatal errors are raised with librdkafka's own test hook (<see cref="FatalErrors"/>), as a broker would cause them.</summary>
public sealed class ReplaceableProducerTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Fatal_error_replaces_the_producer_once_and_the_replacement_delivers()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("hosting-replace", 1, ct);
        using var producer = Producer(kafka.BootstrapServers, kafka.ClientSettings);
        var before = await producer.ProduceAsync(topic, Message("before"), ct);
        var failed = producer.Current;
        Assert.Equal(1, producer.Generation);

        Assert.Equal(ErrorCode.NoError, FatalErrors.Raise(failed.Handle, ErrorCode.OutOfOrderSequenceNumber, "injected by ReplaceableProducerTests"));
        await Eventually.UntilAsync(
            () => (producer.Generation, producer.IsReplacing), s => s is { Generation: 2, IsReplacing: false }, Deadline,
            s => $"not replaced: generation {s.Generation}, replacing {s.IsReplacing}", ct);

        Assert.NotSame(failed, producer.Current);
        producer.Replace(failed); // the failed producer's late reports replace nothing
        Assert.False(producer.IsReplacing);
        var after = await producer.ProduceAsync(topic, Message("after"), ct);
        Assert.Equal(PersistenceStatus.Persisted, after.Status);
        Assert.True(after.Offset > before.Offset);
        Assert.Equal(2, producer.Generation);
    }

    [Fact]
    public async Task Messages_queued_on_the_failed_producer_fail_instead_of_waiting_for_their_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = new MockCluster(brokers: 1);
        cluster.CreateTopic("queued", 1, 1);
        using var producer = Producer(cluster.BootstrapServers, new Dictionary<string, string> { ["message.timeout.ms"] = "300000" });
        await producer.ProduceAsync("queued", Message("first"), ct);
        cluster.SetBrokerDown(1);
        var queued = producer.ProduceAsync("queued", Message("queued"), ct);

        Assert.Equal(ErrorCode.NoError, FatalErrors.Raise(producer.Current.Handle, ErrorCode.OutOfOrderSequenceNumber, "injected"));

        var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() => queued.WaitAsync(Deadline, ct));
        Assert.True(error.Error.IsError);
        await Eventually.UntilAsync(() => producer.Generation, generation => generation == 2, Deadline, g => $"generation {g}", ct);
    }

    [Fact]
    public void Settings_librdkafka_refuses_fail_the_first_use_naming_the_section()
    {
        using var producer = Producer("127.0.0.1:1", new Dictionary<string, string> { ["no.such.property"] = "1" });

        var error = Assert.Throws<InvalidOperationException>(() => producer.Current);

        Assert.StartsWith("librdkafka rejected the Kafka:* settings:", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, producer.Generation);
    }

    [Fact]
    public void Closed_before_first_use_builds_nothing()
    {
        var producer = Producer("127.0.0.1:1", new Dictionary<string, string>());
        producer.FlushAndClose(TimeSpan.FromSeconds(1));
        producer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => producer.Current);
        Assert.Equal(0, producer.Generation);
    }

    private static ReplaceableProducer<string, string> Producer(string bootstrapServers, IReadOnlyDictionary<string, string> settings)
    {
        var config = new ProducerConfig(settings.ToDictionary())
        {
            BootstrapServers = bootstrapServers,
            ClientId = "replace-test",
            Acks = Acks.All,
            EnableIdempotence = true,
        };
        return new ReplaceableProducer<string, string>(config, new KafkaClientLog(NullLogger<KafkaClientLog>.Instance), NullLogger.Instance);
    }

    private static Message<string, string> Message(string value) => new() { Key = "k", Value = value };
}
