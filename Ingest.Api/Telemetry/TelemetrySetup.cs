using Ingest.Api.Auth;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Ingest.Api.Telemetry;

/// <summary>Metrics (Prometheus) always; tracing (ASP.NET Core, Npgsql, our source) and OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
public static class TelemetrySetup
{
    public static WebApplicationBuilder AddApiTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ApiTelemetry.Name))
            .WithMetrics(metrics => metrics
                .AddMeter(ApiTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // Spans (and the trace context in every chunk's headers) only when something receives them, as in the
            // worker: recorded and dropped, they cost every 1 KB request an activity per middleware and per publish.
            otel.WithTracing(tracing => tracing
                    .AddSource(ApiTelemetry.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddNpgsql())
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Counts refused payload posts by status, reason and project, whoever refused them (auth, limits, validation, Kafka).</summary>
    public static WebApplication UseApiTelemetry(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ApiMetrics>();
        app.Use(async (context, next) =>
        {
            await next(context);
            var status = context.Response.StatusCode;
            if (HttpMethods.IsPost(context.Request.Method) && status >= 400)
            {
                var reason = context.Items[ApiMetrics.RefusalReasonKey] as string ?? status switch
                {
                    401 => "unauthorized",
                    403 => "forbidden",
                    404 => "not-found",
                    _ => "other",
                };
                // Projects are configured, so the tag's values are bounded; an unauthenticated post has none.
                metrics.Refused(status, reason, context.User.FindFirst(ApiClaims.Project)?.Value);
            }
        });
        return app;
    }
}
