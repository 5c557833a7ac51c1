using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Ingest.Worker.Telemetry;

/// <summary>Wires logs of the Kafka clients, the worker's meter and spans, Prometheus and (optionally) OTLP.</summary>
public static class TelemetrySetup
{
    /// <summary>Adds OpenTelemetry metrics (Prometheus) and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, OTLP traces and metrics.</summary>
    public static IHostApplicationBuilder AddWorkerTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<WorkerTelemetry>();
        // Registered before the consumer: hosted services stop in reverse order, so it writes the consumer's last words.
        builder.Services.AddSingleton<KafkaClientLog>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<KafkaClientLog>());

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("ingest-worker"))
            .WithMetrics(metrics => metrics
                .AddMeter(WorkerTelemetry.Name, "Npgsql")
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Spans are only worth recording when something receives them.
            otel.WithTracing(tracing => tracing.AddSource(WorkerTelemetry.Name).AddNpgsql()).UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text format).</summary>
    public static IEndpointRouteBuilder MapWorkerMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint();
        return app;
    }
}
