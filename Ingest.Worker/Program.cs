using Ingest.Worker.Consuming;
using Ingest.Worker.Health;
using Ingest.Worker.Redrive;
using Ingest.Worker.Storage;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Configuration.Memory;

namespace Ingest.Worker;

/// <summary>Entry point of the worker process: Kafka → Postgres, with /healthz and /metrics.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (RedriveCommand.TryRun(args) is { } exitCode)
        {
            return exitCode; // an ops command, not the worker
        }

        Build(args).Run();
        return 0;
    }

    /// <summary>Builds the worker host; tests start several of these in one process.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // ASP.NET Core logs every request at Information: a third of the API's CPU at 1 KB payloads (dotnet-trace).
        // Off by default, as in the ASP.NET templates; lowest precedence, so any configuration source can turn it on.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore", "Warning")],
        });
        builder.AddWorkerTelemetry();
        builder.AddPayloadStore();
        builder.AddPayloadConsumer();

        var app = builder.Build();
        app.MapWorkerHealth();
        app.MapWorkerMetrics();
        return app;
    }
}
