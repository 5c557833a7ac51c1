using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Testing;
using Npgsql;

namespace Ingest.EndToEnd.Tests;

/// <summary>The fixtures give what they promise: a broker that keeps and serves messages, and a fresh database.</summary>
public sealed class FixtureTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Broker_round_trips_a_keyed_message_with_acks_all_and_idempotence()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("fixture", partitions: 3, ct);
        using var producer = new ProducerBuilder<string, string>(kafka.Configure(new ProducerConfig
        {
            Acks = Acks.All,
            EnableIdempotence = true,
        })).Build();

        var result = await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = "hello" }, ct);

        using var consumer = new ConsumerBuilder<string, string>(kafka.Configure(new ConsumerConfig
        {
            GroupId = $"g-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        })).Build();
        consumer.Assign(new TopicPartitionOffset(result.TopicPartition, Offset.Beginning));
        var consumed = consumer.Consume(TimeSpan.FromSeconds(15));
        Assert.NotNull(consumed);
        Assert.Equal("hello", consumed.Message.Value);
        Assert.Equal(result.Offset, consumed.Offset);
    }

    [Fact]
    public async Task Each_database_is_new_and_empty()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = await postgres.CreateDatabaseAsync(ct);
        var second = await postgres.CreateDatabaseAsync(ct);

        Assert.NotEqual(
            new NpgsqlConnectionStringBuilder(first).Database,
            new NpgsqlConnectionStringBuilder(second).Database);
        await using var connection = new NpgsqlConnection(first);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema')", connection);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync(ct))!);
    }

    [Fact]
    public void Mock_cluster_is_loaded_from_the_library_Confluent_Kafka_uses()
    {
        // Whatever broker the suite resolved, the fault tests that need request-error injection start mock clusters.
        using var mock = new MockCluster(brokers: 3);

        Assert.Equal(3, mock.BootstrapServers.Split(',').Length);
        Assert.StartsWith("2.16", Library.VersionString, StringComparison.Ordinal);
    }
}
