using Confluent.Kafka;
using Ingest.Hosting.Kafka;
using Ingest.Worker.Consuming;
using Ingest.Worker.DeadLetter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Tests.Startup;

public sealed class OptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.True(new WorkerOptionsValidator().Validate(null, new WorkerOptions()).Succeeded);
    }

    [Fact]
    public void Each_bad_setting_is_named_by_its_key()
    {
        var result = new WorkerOptionsValidator().Validate(null, new WorkerOptions
        {
            GroupId = " ",
            MaxBatchMessages = 0,
            MaxBatchBytes = 10,
            LaneCapacity = -1,
            CommitInterval = TimeSpan.Zero,
            RevokeDrainTimeout = TimeSpan.FromSeconds(-1),
            ShutdownDrainTimeout = TimeSpan.FromHours(2),
        });

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Equal(7, failures.Count);
        Assert.Contains("Worker:GroupId must not be empty.", failures);
        Assert.Contains("Worker:MaxBatchMessages must be between 1 and 100000 (got 0).", failures);
        Assert.Contains(failures, f => f.StartsWith("Worker:MaxBatchBytes must be between 1024", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Worker:LaneCapacity", StringComparison.Ordinal));
        Assert.Contains("Worker:CommitInterval must be more than 0 and at most 01:00:00 (got 00:00:00).", failures);
        Assert.Contains(failures, f => f.StartsWith("Worker:RevokeDrainTimeout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Worker:ShutdownDrainTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void Consumer_config_commits_by_hand_and_uses_cooperative_sticky_with_timeouts_brokers_accept()
    {
        var config = Kafka(("Kafka:BootstrapServers", "b:9092"), ("Kafka:fetch.wait.max.ms", "10")).BuildConsumerConfig("g");

        Assert.Equal("b:9092", config.BootstrapServers);
        Assert.Equal("g", config.GroupId);
        Assert.False(config.EnableAutoCommit);
        Assert.False(config.EnableAutoOffsetStore);
        Assert.Equal(AutoOffsetReset.Earliest, config.AutoOffsetReset);
        Assert.Equal(PartitionAssignmentStrategy.CooperativeSticky, config.PartitionAssignmentStrategy);
        Assert.True(config.SessionTimeoutMs >= 6000, "brokers reject a session timeout below group.min.session.timeout.ms");
        Assert.True(config.HeartbeatIntervalMs * 3 <= config.SessionTimeoutMs);
        Assert.Equal("10", config.Get("fetch.wait.max.ms"));
        Assert.Equal(10_000, config.SocketTimeoutMs); // an unanswered request stalls its partitions 10 s, not librdkafka's 60 s
    }

    [Fact]
    public void Kip848_consumer_protocol_leaves_timeouts_and_assignment_to_the_broker()
    {
        var config = Kafka(("Kafka:BootstrapServers", "b"), ("Kafka:group.protocol", "consumer"), ("Kafka:group.instance.id", "w1"))
            .BuildConsumerConfig("g");

        Assert.Null(config.Get("session.timeout.ms"));
        Assert.Null(config.Get("heartbeat.interval.ms"));
        Assert.Null(config.Get("partition.assignment.strategy"));
        Assert.Equal("consumer", config.Get("group.protocol"));
        Assert.Equal("w1", config.Get("group.instance.id"));
    }

    [Fact]
    public void Explicit_settings_win_except_the_commit_discipline()
    {
        var config = Kafka(
            ("Kafka:BootstrapServers", "b"), ("Kafka:session.timeout.ms", "45000"), ("Kafka:enable.auto.commit", "true"))
            .BuildConsumerConfig("g");

        Assert.Equal(45000, config.SessionTimeoutMs);
        Assert.False(config.EnableAutoCommit);
    }

    [Fact]
    public void Dead_letter_producer_is_idempotent_acks_all_without_consumer_only_settings()
    {
        var kafka = new KafkaSettings().Load(Configuration(
            ("Kafka:BootstrapServers", "b"), ("Kafka:fetch.wait.max.ms", "10"), ("Kafka:group.protocol", "consumer"),
            ("Kafka:security.protocol", "SASL_SSL")).GetSection(KafkaSettings.Section));

        var config = DeadLetterProducer.CreateConfig(kafka);

        Assert.Equal(Acks.All, config.Acks);
        Assert.True(config.EnableIdempotence);
        Assert.Equal(Partitioner.Murmur2Random, config.Partitioner);
        Assert.Null(config.Get("fetch.wait.max.ms"));
        Assert.Null(config.Get("group.protocol"));
        Assert.Equal("SASL_SSL", config.Get("security.protocol"));
    }

    [Fact]
    public void Topic_defaults_to_ingest_payloads()
    {
        Assert.Equal("ingest.payloads", Kafka(("Kafka:BootstrapServers", "b")).Topic);
        Assert.Equal("t1", Kafka(("Ingest:Topic", "t1")).Topic);
    }

    [Theory]
    [InlineData("Kafka:BootstrapServers")]
    [InlineData("ConnectionStrings:Ingest")]
    public async Task Start_up_fails_naming_a_missing_key(string missing)
    {
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            .. new[] { "--Kafka:BootstrapServers=127.0.0.1:1", "--ConnectionStrings:Ingest=Host=127.0.0.1;Port=1" }
                .Where(a => !a.StartsWith($"--{missing}=", StringComparison.Ordinal)),
        ];
        await using var app = Program.Build(args);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.True(error is OptionsValidationException or AggregateException, error.ToString());
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_fails_naming_a_bad_worker_setting()
    {
        await using var app = Program.Build(
            ["--urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:1", "--ConnectionStrings:Ingest=Host=127.0.0.1;Port=1",
             "--Worker:MaxBatchMessages=0"]);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("Worker:MaxBatchMessages", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starts_with_an_otlp_endpoint_configured_and_answers_healthz()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = Program.Build(
            ["--urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:1", "--ConnectionStrings:Ingest=Host=127.0.0.1;Port=1",
             "--OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1", "--Logging:LogLevel:Default=None"]);
        await app.StartAsync(ct);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative), ct));
        }
        finally
        {
            await app.StopAsync(ct);
        }
    }

    private static KafkaOptions Kafka(params (string Key, string Value)[] settings)
    {
        var configuration = Configuration(settings);
        var options = new KafkaOptions();
        options.Load(new KafkaSettings().Load(configuration.GetSection(KafkaSettings.Section)), configuration);
        return options;
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}
