using Ingest.Hosting;
using Ingest.Hosting.Kafka;
using Ingest.Hosting.Telemetry;
using Ingest.Worker.Consuming;
using Ingest.Worker.Durability;
using Ingest.Worker.Health;
using Ingest.Worker.Lifecycle;
using Ingest.Worker.Startup;
using Ingest.Worker.Storage;
using Ingest.Worker.Telemetry;

namespace Ingest.Worker;

/// <summary>Entry point of the worker process: Kafka → Postgres, with /healthz and /metrics.</summary>
public static class Program
{
    public static int Main(string[] args) => WorkerCommandLine.Run(args, Build);

    /// <summary>Builds the worker host; tests start several of these in one process.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = IngestHost.CreateBuilder(args); // log-level defaults in appsettings.json
        builder.AddWorkerTelemetry();
        builder.AddKafkaClients(); // before the consumer: its client log stops after it
        builder.AddPayloadStore();
        builder.AddTopicDurabilityCheck();
        builder.AddWorkerStartup(); // the check and the migrations, side by side, before the consumer subscribes
        builder.AddPayloadConsumer();
        builder.AddLifecycleMaintenance(); // expiry, erasure and partitions, once the schema is ready

        var app = builder.Build();
        app.UseStartupTimeline();
        app.MapWorkerHealth();
        app.MapPrometheusMetrics();
        return app;
    }
}
