using Ingest.Hosting.Telemetry;

namespace Ingest.Worker.Telemetry;

/// <summary>The worker's meter and spans on the shared setup (<see cref="Hosting.Telemetry.TelemetrySetup"/>).</summary>
public static class TelemetrySetup
{
    /// <summary>Adds OpenTelemetry metrics (Prometheus) and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, OTLP traces and metrics.</summary>
    public static IHostApplicationBuilder AddWorkerTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<WorkerTelemetry>();
        builder.AddIngestTelemetry(
            "ingest-worker",
            metrics => metrics.AddMeter(WorkerTelemetry.Name, "Npgsql"),
            tracing => tracing.AddSource(WorkerTelemetry.Name));
        return builder;
    }
}
