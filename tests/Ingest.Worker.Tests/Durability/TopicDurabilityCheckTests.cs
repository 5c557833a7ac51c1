using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Durability;

/// <summary>The worker's start-up check of the payload topic's settings, against the broker the fixture resolved.</summary>
public sealed partial class TopicDurabilityCheckTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task The_worker_checks_the_topic_at_start_up_on_a_real_broker_and_on_the_mock_says_once_that_it_cannot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 2, ct);
        var started = Stopwatch.GetTimestamp();
        await using var worker = await WorkerProcess.StartAsync(scenario.WorkerArgs(), ct);
        var startup = Stopwatch.GetElapsedTime(started);
        var bytes = "stored"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("s", 0, bytes), bytes, ct);
        await scenario.Database.WaitForCountAsync(1, ct);

        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worker process up (/healthz) in {startup.TotalMilliseconds:0} ms on {kafka.Kind}"));
        TestContext.Current.TestOutputHelper?.WriteLine(worker.Output);
        if (kafka.IsMock)
        {
            Assert.Single(CannotCheck().Matches(worker.Output));
            Assert.Contains(scenario.Topic, CannotCheck().Match(worker.Output).Value, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(CannotCheck().Matches(worker.Output));
            Assert.Contains($"Topic {scenario.Topic} durability settings checked", worker.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("cleanup.policy", "compact")]
    [InlineData("unclean.leader.election.enable", "true")]
    public async Task On_a_real_broker_the_worker_refuses_a_topic_whose_settings_lose_payloads(string setting, string value)
    {
        kafka.SkipIfMock("the mock cluster answers no DescribeConfigs and creates topics without configs");
        var ct = TestContext.Current.CancellationToken;
        var topic = $"durability-{Guid.NewGuid():N}";
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification
            {
                Name = topic, NumPartitions = 1, ReplicationFactor = 1, Configs = new() { [setting] = value },
            }]);
        }

        var database = await postgres.CreateDatabaseAsync(ct);
        var (code, output) = await WorkerProcess.RunToExitAsync(
            ["--urls=http://127.0.0.1:0", $"--Kafka:BootstrapServers={kafka.BootstrapServers}", $"--ConnectionStrings:Ingest={database}", $"--Ingest:Topic={topic}"], ct);

        Assert.Equal(1, code);
        Assert.Contains($"Ingest.Worker: refusing to start: topic {topic}: {setting}={value}", output, StringComparison.Ordinal);
        Assert.Contains("Worker:CheckTopicDurability=false", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_check_can_be_switched_off_and_says_so()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await using var worker = await WorkerProcess.StartAsync([.. scenario.WorkerArgs(), "--Worker:CheckTopicDurability=false"], ct);

        Assert.Contains("Worker:CheckTopicDurability=false", worker.Output, StringComparison.Ordinal);
        Assert.Empty(CannotCheck().Matches(worker.Output));
    }

    [GeneratedRegex("Cannot check the durability settings of topic [^:]+: [^\n]*")]
    private static partial Regex CannotCheck();
}
