using System.Net.Http.Headers;
using Ingest.Testing;
using Ingest.Testing.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Api.Tests.Hosting;

/// <summary>The API as <see cref="Program.Build"/> makes it, on a real Kestrel port, with a fixed set of keys.</summary>
public sealed class ApiHost : IAsyncDisposable
{
    public const string Project = TestApiKeys.Project;
    public const string OtherProject = TestApiKeys.OtherProject;
    public const string IngestReadKey = TestApiKeys.IngestReadKey;
    public const string ReadOnlyKey = TestApiKeys.ReadOnlyKey;
    public const string IngestOnlyKey = TestApiKeys.IngestOnlyKey;
    public const string OtherProjectKey = TestApiKeys.OtherProjectKey;
    public const string AllowedOrigin = "https://recorder.p1.example";
    public const string OtherOrigin = "https://recorder.p2.example";

    private ApiHost(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>Starts an API on <paramref name="bootstrapServers"/>, <paramref name="topic"/> and <paramref name="connectionString"/>.</summary>
    public static async Task<ApiHost> StartAsync(
        string bootstrapServers,
        IReadOnlyDictionary<string, string> kafkaSettings,
        string topic,
        string connectionString,
        IEnumerable<string>? extraArgs,
        CancellationToken cancellationToken)
    {
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Kafka:BootstrapServers={bootstrapServers}",
            .. kafkaSettings.Where(s => s.Key != "fetch.wait.max.ms").Select(s => $"--Kafka:{s.Key}={s.Value}"),
            $"--ConnectionStrings:Ingest={connectionString}",
            $"--Ingest:Topic={topic}",
            .. TestApiKeys.ConfigurationArgs(),
            $"--Ingest:Projects:{Project}:AllowedOrigins:0={AllowedOrigin}",
            $"--Ingest:Projects:{OtherProject}:AllowedOrigins:0={OtherOrigin}",
            .. extraArgs ?? [],
        ];
        var app = Program.Build(args);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new ApiHost(app, new Uri(address));
    }

    /// <summary>Starts an API on the fixture's broker, with a fresh topic and database unless given.</summary>
    public static async Task<ApiHost> StartAsync(
        KafkaFixture kafka, string topic, string connectionString, CancellationToken cancellationToken, params string[] extraArgs) =>
        await StartAsync(kafka.BootstrapServers, kafka.ClientSettings, topic, connectionString, extraArgs, cancellationToken);

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await App.StopAsync(timeout.Token);
        await App.DisposeAsync();
    }

    public static string Sha256Hex(string key) => TestApiKeys.Sha256Hex(key);
}
