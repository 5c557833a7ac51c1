using Ingest.Worker.Consuming;
using Ingest.Worker.Durability;
using Ingest.Worker.Health;
using Ingest.Worker.Startup;
using Ingest.Worker.Storage;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Configuration.Memory;

namespace Ingest.Worker;

/// <summary>Entry point of the worker process: Kafka → Postgres, with /healthz and /metrics.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var app = Build(args);
        var startup = app.Services.GetRequiredService<WorkerStartup>(); // Run disposes the services
        app.Run();
        if (startup.Refusal is { } refusal)
        {
            Console.Error.WriteLine($"Ingest.Worker: {refusal.Message}");
            return 1;
        }

        return 0;
    }

    /// <summary>Builds the worker host; tests start several of these in one process.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Defaults under every other configuration source, so Logging:LogLevel:* still turns them back on:
        // ASP.NET Core logs every request (each probe and scrape) and Npgsql every command at Information; a worker
        // draining a backlog wrote 15k Npgsql lines a minute, at a real CPU cost.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Npgsql"] = "Warning",
            },
        });
        builder.AddWorkerTelemetry();
        builder.AddPayloadStore();
        builder.AddTopicDurabilityCheck();
        builder.AddWorkerStartup(); // the check and the migrations, side by side, before the consumer subscribes
        builder.AddPayloadConsumer();

        var app = builder.Build();
        var timeline = app.Services.GetRequiredService<StartupTimeline>();
        timeline.Mark(StartupPhase.HostBuilt);
        app.Lifetime.ApplicationStarted.Register(() => timeline.Mark(StartupPhase.Listening));
        app.MapWorkerHealth();
        app.MapWorkerMetrics();
        return app;
    }
}
