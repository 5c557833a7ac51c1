using Ingest.Api.Auth;
using Ingest.Api.Payloads;
using Ingest.Hosting.Kafka;
using Microsoft.Extensions.Configuration;

namespace Ingest.Api.Tests.Hosting;

public sealed class OptionsValidationTests
{
    private const string GoodHash = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    private static IngestOptions OneProject(string projectId, string? sha256 = GoodHash, string? scopes = "ingest,read") => new()
    {
        Projects = { [projectId] = new ProjectOptions { Keys = { new ApiKeyOptions { Sha256 = sha256, Scopes = scopes } } } },
    };

    private static IReadOnlyList<string> Failures(IngestOptions options) =>
        new IngestOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Fact]
    public void Valid_configuration_passes() => Assert.Empty(Failures(OneProject("p1")));

    [Fact]
    public void Bad_limits_name_their_keys()
    {
        var options = OneProject("p1");
        options.Projects["p1"].Limits = new() { MaxConcurrentUploads = 0, BudgetShare = 1.5 };
        options.Projects["p1"].Keys[0].Limits = new() { BytesPerSecond = 10, BudgetShare = 0.5 };

        Assert.Equal(
            [
                "Ingest:Projects:p1:Limits:MaxConcurrentUploads must be between 1 and 1000000; got 0.",
                "Ingest:Projects:p1:Limits:BudgetShare must be above 0 and at most 1; got 1.5.",
                "Ingest:Projects:p1:Keys:0:Limits:BytesPerSecond must be 0 (no limit) or between 1024 and 1099511627776; got 10.",
                "Ingest:Projects:p1:Keys:0:Limits:BudgetShare is a project limit (Ingest:Projects:{p}:Limits:BudgetShare); a key has none.",
            ],
            Failures(options));
    }

    [Fact]
    public void Bad_api_limits_name_their_keys()
    {
        var options = new ApiOptions { UploadIdleTimeout = TimeSpan.Zero };
        options.ProjectLimits.RequestsPerSecond = -1;
        var failures = new ApiOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

        Assert.Contains("Api:UploadIdleTimeout must be between 100 ms and 1 hour; got 00:00:00.", failures);
        Assert.Contains("Api:ProjectLimits:RequestsPerSecond must be between 0 (no limit) and 1000000; got -1.", failures);
    }

    [Fact]
    public void Bad_hex_names_the_key_without_echoing_the_value()
    {
        var failure = Assert.Single(Failures(OneProject("p1", sha256: "my-secret-api-key")));

        Assert.StartsWith("Ingest:Projects:p1:Keys:0:Sha256 must be 64 hex digits", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("my-secret-api-key", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_scope_names_the_key_and_the_scope()
    {
        var failure = Assert.Single(Failures(OneProject("p1", scopes: "ingest,admin")));

        Assert.StartsWith("Ingest:Projects:p1:Keys:0:Scopes has unknown scope 'admin'", failure, StringComparison.Ordinal);
        Assert.Contains("ingest, read and erase", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("erase")]
    [InlineData("read,erase")]
    [InlineData("ingest,read,erase")]
    public void Keys_may_hold_erase_beside_ingest_and_read(string scopes) => Assert.Empty(Failures(OneProject("p1", scopes: scopes)));

    [Fact]
    public void Missing_scopes_names_the_key()
    {
        var failure = Assert.Single(Failures(OneProject("p1", scopes: null)));

        Assert.StartsWith("Ingest:Projects:p1:Keys:0:Scopes is empty", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_project_id_names_the_project()
    {
        var failure = Assert.Single(Failures(OneProject("team/one")));

        Assert.StartsWith("Ingest:Projects:team/one: 'team/one' is not a valid project id", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_key_in_two_projects_is_refused()
    {
        var options = OneProject("p1");
        options.Projects["p2"] = new ProjectOptions { Keys = { new ApiKeyOptions { Sha256 = GoodHash.ToUpperInvariant(), Scopes = "read" } } };

        var failure = Assert.Single(Failures(options));
        Assert.Contains("Ingest:Projects:p2:Keys:0:Sha256 is the same key as Ingest:Projects:p1:Keys:0", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("app.example.com")]
    [InlineData("https://app.example.com/path")]
    [InlineData("ftp://app.example.com")]
    [InlineData("*")]
    public void Bad_origin_names_the_key(string origin)
    {
        var options = OneProject("p1");
        options.Projects["p1"].AllowedOrigins.Add(origin);

        var failure = Assert.Single(Failures(options));
        Assert.StartsWith("Ingest:Projects:p1:AllowedOrigins:0:", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_tokens_required_without_a_secret_names_the_setting()
    {
        var options = OneProject("p1");
        options.Projects["p1"].WriteTokens.Required = true;

        Assert.StartsWith("Ingest:Projects:p1:WriteTokens:Required is true but Ingest:Projects:p1:WriteTokens:Secrets has none", Assert.Single(Failures(options)), StringComparison.Ordinal);
    }

    [Fact]
    public void Short_write_token_secret_names_the_setting_without_echoing_it()
    {
        var options = OneProject("p1");
        options.Projects["p1"].WriteTokens = new WriteTokenOptions { Required = true, Secrets = { new string('k', 32), "short-secret-1234" } };

        var failure = Assert.Single(Failures(options));
        Assert.StartsWith("Ingest:Projects:p1:WriteTokens:Secrets:1 has 17 characters; a write token secret needs at least 32", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_write_token_secret_in_two_projects_is_refused_without_echoing_it()
    {
        var secret = "shared-secret-shared-secret-shared-secret";
        var options = OneProject("p1");
        options.Projects["p1"].WriteTokens.Secrets.Add(secret);
        options.Projects["p2"] = new ProjectOptions { WriteTokens = { Secrets = { secret } } };

        var failure = Assert.Single(Failures(options));
        Assert.Equal("Ingest:Projects:p2:WriteTokens:Secrets:0 is the same secret as Ingest:Projects:p1:WriteTokens:Secrets:0; every project needs secrets of its own.", failure);
    }

    [Fact]
    public void Write_token_lifetime_and_skew_name_their_settings()
    {
        var options = OneProject("p1");
        options.Projects["p1"].WriteTokens = new WriteTokenOptions { MaxLifetime = TimeSpan.FromDays(8), ClockSkew = TimeSpan.FromMinutes(-1) };

        Assert.Collection(
            Failures(options),
            f => Assert.StartsWith("Ingest:Projects:p1:WriteTokens:MaxLifetime must be more than 0 and at most 7.00:00:00", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Ingest:Projects:p1:WriteTokens:ClockSkew must be between 0 and 00:10:00", f, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad topic")]
    [InlineData("..")]
    public void Bad_topic_names_the_key(string topic)
    {
        var options = OneProject("p1");
        options.Topic = topic;

        Assert.StartsWith("Ingest:Topic:", Assert.Single(Failures(options)), StringComparison.Ordinal);
    }

    [Fact]
    public void Api_limits_name_their_keys()
    {
        var failures = new ApiOptionsValidator().Validate(null, new ApiOptions
        {
            MaxPayloadBytes = 0,
            DeliveryTimeout = TimeSpan.Zero,
            RetryAfterSeconds = 0,
        }).Failures!.ToList();

        Assert.Collection(
            failures,
            f => Assert.StartsWith("Api:MaxPayloadBytes", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Api:DeliveryTimeout", f, StringComparison.Ordinal),
            f => Assert.StartsWith("Api:RetryAfterSeconds", f, StringComparison.Ordinal));
    }

    [Fact]
    public void Kafka_settings_need_bootstrap_servers_and_pass_other_keys_as_is()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "b1:9092,b2:9092",
            ["Kafka:security.protocol"] = "SASL_SSL",
        }).Build();
        var settings = new KafkaSettings().Load(configuration.GetSection("Kafka"));

        Assert.Equal("b1:9092,b2:9092", settings.Client["bootstrap.servers"]);
        Assert.Equal("SASL_SSL", settings.Client["security.protocol"]);
        Assert.True(new KafkaSettingsValidator().Validate(null, settings).Succeeded);
        Assert.Equal(
            "Kafka:BootstrapServers is required (host:port[,host:port…]).",
            new KafkaSettingsValidator().Validate(null, new KafkaSettings()).FailureMessage);
    }
}
