using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Tests.Hosting;

/// <summary>A bad setting fails start-up with a message naming the key.</summary>
public sealed class StartupTests
{
    private const string Hash = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    [Theory]
    [InlineData("--Ingest:Projects:p1:Keys:0:Sha256=xyz", "Ingest:Projects:p1:Keys:0:Sha256")]
    [InlineData("--Ingest:Projects:p1:Keys:0:Scopes=ingest,admin", "Ingest:Projects:p1:Keys:0:Scopes")]
    [InlineData("--Ingest:Projects:bad.project:Keys:0:Scopes=read", "Ingest:Projects:bad.project")]
    [InlineData("--Api:MaxPayloadBytes=0", "Api:MaxPayloadBytes")]
    [InlineData("--Api:ChunkBytes=0", "Api:ChunkBytes")]
    [InlineData("--Api:ChunksInFlight=0", "Api:ChunksInFlight")]
    [InlineData("--Api:InFlightBudgetBytes=1000", "Api:InFlightBudgetBytes")]
    [InlineData("--Api:BudgetWaitTimeout=00:00:00", "Api:BudgetWaitTimeout")]
    [InlineData("--Api:ShutdownTimeout=-00:00:01", "Api:ShutdownTimeout")]
    [InlineData("--Api:ErasureRefreshInterval=00:00:00", "Api:ErasureRefreshInterval")]
    [InlineData("--Ingest:Lifecycle:CheckInterval=00:00:00", "Ingest:Lifecycle:CheckInterval")]
    [InlineData("--Ingest:Projects:p1:Retention=forever", "Ingest:Projects:p1:Retention")]
    [InlineData("--ConnectionStrings:Ingest=", "ConnectionStrings:Ingest")]
    [InlineData("--Kafka:BootstrapServers=", "Kafka:BootstrapServers")]
    public async Task Start_fails_naming_the_bad_key(string badArg, string key)
    {
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=None",
            "--Kafka:BootstrapServers=127.0.0.1:1",
            $"--ConnectionStrings:Ingest={Http.UnusedDatabase}",
            $"--Ingest:Projects:p1:Keys:0:Sha256={Hash}",
            "--Ingest:Projects:p1:Keys:0:Scopes=ingest",
            $"--Ingest:Projects:bad.project:Keys:0:Sha256={Hash.Replace('2', '3')}",
            "--Ingest:Projects:bad.project:Keys:0:Scopes=read",
            badArg,
        ];
        if (!badArg.Contains("bad.project", StringComparison.Ordinal))
        {
            args = [.. args.Where(a => !a.Contains("bad.project", StringComparison.Ordinal))];
        }

        await using var app = Program.Build(args);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ingest", "--Api:Demo:Project=p1", "Api:Demo:IngestKey is required")]
    [InlineData("ingest", "--Api:Demo:IngestKey=foo", "Api:Demo:Project is required")]
    [InlineData("ingest,read", "--Api:Demo:Project=p1 --Api:Demo:IngestKey=foo --Ingest:Projects:p1:AllowedOrigins:0=http://127.0.0.1:8080", "Api:Demo:IngestKey has the scopes 'ingest,read'")]
    [InlineData("ingest", "--Api:Demo:Project=p1 --Api:Demo:IngestKey=foo", "Ingest:Projects:p1:AllowedOrigins is empty")]
    public async Task Enabled_demo_with_an_unfit_key_or_project_fails_start(string scopes, string demoArgs, string message)
    {
        // Hash is the SHA-256 of "foo", the demo's key in these cases.
        await using var app = Program.Build(
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=None",
            "--Kafka:BootstrapServers=127.0.0.1:1",
            $"--ConnectionStrings:Ingest={Http.UnusedDatabase}",
            $"--Ingest:Projects:p1:Keys:0:Sha256={Hash}",
            $"--Ingest:Projects:p1:Keys:0:Scopes={scopes}",
            "--Api:Demo:Enabled=true",
            .. demoArgs.Split(' '),
        ]);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("foo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_librdkafka_setting_fails_start_naming_the_section()
    {
        await using var app = Program.Build(
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=None",
            "--Kafka:BootstrapServers=127.0.0.1:1",
            "--Kafka:no.such.property=1",
            $"--ConnectionStrings:Ingest={Http.UnusedDatabase}",
        ]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("Kafka:*", error.Message, StringComparison.Ordinal);
        Assert.Contains("no.such.property", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunks_larger_than_a_Kafka_message_fail_start_naming_both_keys()
    {
        await using var app = Program.Build(
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=None",
            "--Kafka:BootstrapServers=127.0.0.1:1",
            "--Kafka:message.max.bytes=100000",
            "--Api:ChunkBytes=262144",
            $"--ConnectionStrings:Ingest={Http.UnusedDatabase}",
        ]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("Api:ChunkBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("Kafka:message.max.bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("--Logging:LogLevel:Microsoft.AspNetCore=Information", true)]
    public async Task Per_request_framework_logs_are_off_unless_configured(string? setting, bool expected)
    {
        string[] args =
        [
            "--Kafka:BootstrapServers=127.0.0.1:1",
            $"--ConnectionStrings:Ingest={Http.UnusedDatabase}",
            $"--Ingest:Projects:p1:Keys:0:Sha256={Hash}",
            "--Ingest:Projects:p1:Keys:0:Scopes=ingest",
            .. setting is null ? Array.Empty<string>() : [setting],
        ];
        await using var app = Program.Build(args);
        var hosting = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics");

        Assert.Equal(expected, hosting.IsEnabled(LogLevel.Information));
        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Ingest.Api").IsEnabled(LogLevel.Information));
    }
}
