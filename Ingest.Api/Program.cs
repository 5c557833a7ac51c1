using Ingest.Api.Auth;
using Ingest.Api.Demo;
using Ingest.Api.Health;
using Ingest.Api.Kafka;
using Ingest.Api.Lifecycle;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using Ingest.Api.Recorder;
using Ingest.Api.Security;
using Ingest.Api.Sessions;
using Ingest.Api.Status;
using Ingest.Api.Telemetry;
using Ingest.Hosting;
using Ingest.Storage.Lifecycle;

namespace Ingest.Api;

/// <summary>Entry point of the API process; <see cref="Build"/> is what tests start.</summary>
public static class Program
{
    public static async Task Main(string[] args)
    {
        await using var app = Build(args);
        await app.RunAsync();
    }

    /// <summary>The API, configured from <paramref name="args"/> (plus environment and appsettings), not yet started.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = IngestHost.CreateBuilder(args); // log-level defaults in appsettings.json
        builder.AddApiProblems();
        builder.AddApiKeyAuth();
        builder.AddPayloadIngest();
        builder.AddKafkaProducer();
        builder.AddSessionReader();
        builder.AddRetentionPolicy();
        builder.AddSessionErasure();
        builder.AddApiTelemetry();
        builder.AddPipelineStatus();
        builder.AddRecorderSdk();
        builder.AddDemoPage();

        var app = builder.Build();
        app.UseSecurityHeaders();
        app.UseApiTelemetry();
        app.UseApiProblems();
        app.UseApiKeyAuth();
        app.MapPayloadEndpoints();
        app.MapSessionEndpoints();
        app.MapErasureEndpoints();
        app.MapHealthEndpoints();
        app.MapStatusEndpoints();
        app.MapRecorderSdk();
        app.MapDemoPage();
        return app;
    }
}
