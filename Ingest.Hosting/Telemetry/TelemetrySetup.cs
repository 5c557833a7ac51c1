using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Ingest.Hosting.Telemetry;

/// <summary>The OpenTelemetry setup of every Ingest process; each names its service and adds its own meters and sources.</summary>
public static class TelemetrySetup
{
    /// <summary>The variable (or configuration key) that turns tracing and OTLP export on.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Metrics always: <paramref name="metrics"/>, ASP.NET Core's, exported for Prometheus (<see cref="MapPrometheusMetrics"/>).
    /// Tracing only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set: <paramref name="tracing"/> and Npgsql's spans, with metrics
    /// and spans exported over OTLP. Spans are only worth recording when something receives them: recorded and dropped,
    /// they cost every request an activity per middleware and per publish.
    /// </summary>
    public static IHostApplicationBuilder AddIngestTelemetry(
        this IHostApplicationBuilder builder, string serviceName, Action<MeterProviderBuilder> metrics, Action<TracerProviderBuilder> tracing)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(meters =>
            {
                metrics(meters);
                meters.AddAspNetCoreInstrumentation().AddPrometheusExporter();
            });
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]))
        {
            otel.WithTracing(sources =>
                {
                    tracing(sources);
                    sources.AddNpgsql();
                })
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text format).</summary>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint("/metrics");
}
