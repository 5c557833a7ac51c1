using Ingest.Api.Auth;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Ingest.Api.Tests.Auth;

/// <summary>Start-up says how many keys there are, and warns when none are: such an API refuses everything with 401.</summary>
public sealed class ApiKeyReportTests
{
    [Fact]
    public async Task No_keys_configured_is_a_warning_at_start_up()
    {
        var logger = new FakeLogger<ApiKeyRegistry>();

        await new ApiKeyReport(new ApiKeyRegistry(new IngestOptions()), logger).StartAsync(TestContext.Current.CancellationToken);

        var records = logger.Collector.GetSnapshot();
        Assert.Contains(records, r => r.Id.Id == 1004 && r.Level == LogLevel.Information && r.Message == "0 API keys configured for 0 projects");
        var warning = Assert.Single(records, r => r.Level == LogLevel.Warning);
        Assert.Equal(1005, warning.Id.Id);
        Assert.Contains("No API keys are configured (Ingest:Projects:<project>:Keys:<n>:Sha256", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configured_keys_are_counted_without_a_warning()
    {
        var options = new IngestOptions();
        options.Projects["p1"] = new ProjectOptions
        {
            Keys = [new() { Sha256 = TestApiKeys.Sha256Hex("a"), Scopes = "ingest" }, new() { Sha256 = TestApiKeys.Sha256Hex("b"), Scopes = "read" }],
        };
        options.Projects["p2"] = new ProjectOptions { Keys = [new() { Sha256 = TestApiKeys.Sha256Hex("c"), Scopes = "read" }] };
        options.Projects["origins-only"] = new ProjectOptions { AllowedOrigins = ["https://a.example"] };
        var logger = new FakeLogger<ApiKeyRegistry>();

        await new ApiKeyReport(new ApiKeyRegistry(options), logger).StartAsync(TestContext.Current.CancellationToken);

        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal((1004, LogLevel.Information, "3 API keys configured for 2 projects"), (record.Id.Id, record.Level, record.Message));
    }

    [Fact]
    public async Task The_report_runs_as_the_API_starts()
    {
        await using var app = Program.Build(
            ["--urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:1", $"--ConnectionStrings:Ingest={Http.UnusedDatabase}"]);

        Assert.Contains(app.Services.GetServices<IHostedService>(), service => service is ApiKeyReport);
    }
}
