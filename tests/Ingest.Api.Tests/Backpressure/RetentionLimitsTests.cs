using Confluent.Kafka;
using Ingest.Api.Backpressure;
using Ingest.DevBroker;
using Ingest.Hosting.Kafka;
using Ingest.Testing;

namespace Ingest.Api.Tests.Backpressure;

/// <summary>What the backlog guard learns from a broker about how much a topic keeps per partition.</summary>
public sealed class RetentionLimitsTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task The_embedded_broker_cannot_describe_configs_and_is_taken_to_keep_5_MiB_per_partition()
    {
        using var mock = new MockCluster(brokers: 3);
        mock.CreateTopic("t", 2, 3);
        using var admin = Admin(mock.BootstrapServers);

        var metadata = admin.GetMetadata(Timeout);
        // Metadata that came over the bootstrap connection names no broker (-1): asking broker "-1" timed out instead.
        var overBootstrap = new Metadata(metadata.Brokers, metadata.Topics, -1, "bootstrap");
        var limits = await RetentionLimits.ReadAsync(admin, "t", overBootstrap, Timeout);

        Assert.Same(RetentionLimits.EmbeddedBroker, limits);
        Assert.Equal(new BacklogLimit(3_145_728, 60_000, 1000), limits.ToLimit(0.6, 1000));
    }

    [Fact]
    public async Task A_real_topics_retention_bytes_is_read_and_minus_one_turns_the_guard_off()
    {
        kafka.SkipIfMock("the mock cluster takes no topic configs");
        var ct = TestContext.Current.CancellationToken;
        var bounded = await kafka.CreateTopicAsync("retained", 1, ct, new Dictionary<string, string> { ["retention.bytes"] = "7340032" });
        var unbounded = await kafka.CreateTopicAsync("unbounded", 1, ct);
        using var admin = Admin(kafka.BootstrapServers);

        var limits = await RetentionLimits.ReadAsync(admin, bounded, admin.GetMetadata(Timeout), Timeout);
        var none = await RetentionLimits.ReadAsync(admin, unbounded, admin.GetMetadata(Timeout), Timeout);

        Assert.Equal((7_340_032L, (long?)null, true), (limits.Bytes!.Value, limits.Batches, limits.Known));
        Assert.Equal(new BacklogLimit(3_670_016, long.MaxValue, 1000), limits.ToLimit(0.5, 1000));
        Assert.True(none.Known);
        Assert.Null(none.ToLimit(0.5, 1000));
    }

    [Fact]
    public async Task A_topic_that_cannot_be_described_is_unknown_not_unlimited()
    {
        kafka.SkipIfMock("the mock answers no DescribeConfigs at all (the first test)");
        using var admin = Admin(kafka.BootstrapServers);

        var limits = await RetentionLimits.ReadAsync(admin, $"missing-{Guid.NewGuid():N}", admin.GetMetadata(Timeout), Timeout);

        Assert.False(limits.Known);
    }

    private static IAdminClient Admin(string bootstrap) =>
        RetentionLimits.CreateAdmin(new KafkaSettings { Client = { ["bootstrap.servers"] = bootstrap } }, "retention-test");
}
