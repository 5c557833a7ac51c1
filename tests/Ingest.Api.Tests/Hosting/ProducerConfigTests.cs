using Confluent.Kafka;
using Ingest.Api.Kafka;
using Ingest.Api.Payloads;
using Ingest.Contracts.Identity;
using Ingest.Hosting.Kafka;

namespace Ingest.Api.Tests.Hosting;

public sealed class ProducerConfigTests
{
    [Fact]
    public void Producer_is_idempotent_acks_all_uncompressed_with_the_session_partitioner()
    {
        var kafka = new KafkaSettings();
        kafka.Client["bootstrap.servers"] = "b:9092";
        var config = PayloadProducer.CreateConfig(kafka, new ApiOptions { DeliveryTimeout = TimeSpan.FromSeconds(12) });

        Assert.Equal(Acks.All, config.Acks);
        Assert.True(config.EnableIdempotence);
        Assert.Equal(SessionKey.Partitioner, config.Partitioner);
        Assert.Equal(CompressionType.None, config.CompressionType);
        Assert.Equal(5, config.LingerMs);
        Assert.Equal(12_000, config.MessageTimeoutMs);
        Assert.Equal("b:9092", config.BootstrapServers);
        Assert.Equal((256 * 1024) + 1024, config.QueueBufferingMaxKbytes); // the in-flight budget plus 1 MiB, not librdkafka's 1 GiB
    }

    [Fact]
    public void Kafka_passthrough_comes_last_so_operators_can_tune()
    {
        var kafka = new KafkaSettings();
        kafka.Client["bootstrap.servers"] = "b:9092";
        kafka.Client["linger.ms"] = "20";
        kafka.Client["message.max.bytes"] = "2000000";

        var config = PayloadProducer.CreateConfig(kafka, new ApiOptions());

        Assert.Equal(20, config.LingerMs);
        Assert.Equal(2_000_000, config.MessageMaxBytes);
        Assert.Equal(30_000, config.MessageTimeoutMs);
    }

    [Fact]
    public async Task Delivery_reports_carry_what_the_api_reads_and_not_the_headers()
    {
        // librdkafka's mock cluster in this process: a real produce and delivery report through the API's config.
        var kafka = new KafkaSettings();
        kafka.Client["test.mock.num.brokers"] = "1";
        var config = PayloadProducer.CreateConfig(kafka, new ApiOptions());
        using var producer = new ProducerBuilder<byte[], byte[]>(config).Build();
        byte[] value = [1, 2, 3];

        var report = await producer.ProduceAsync(
            "report-fields", new Message<byte[], byte[]> { Key = "p/s"u8.ToArray(), Value = value, Headers = new Headers { { "ingest-v", "1"u8.ToArray() } } },
            TestContext.Current.CancellationToken);

        Assert.Equal(PayloadProducer.DeliveryReportFields, config.DeliveryReportFields);
        Assert.Equal(PersistenceStatus.Persisted, report.Status);
        Assert.True(report.Offset.Value >= 0);
        Assert.Equal(value, report.Message.Value); // what PublishTelemetry and the too-large path read
        Assert.Null(report.Message.Headers); // not copied back: the cost this setting removes
    }
}
