using Ingest.Api.Auth;
using Ingest.Hosting.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Ingest.Api.Telemetry;

/// <summary>The API's meter and spans on the shared setup (<see cref="Hosting.Telemetry.TelemetrySetup"/>), and its refusal counter.</summary>
public static class TelemetrySetup
{
    /// <summary>Metrics (Prometheus) always; tracing (ASP.NET Core, Npgsql, our source) and OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public static WebApplicationBuilder AddApiTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiMetrics>();
        // Spans also carry the trace context into every chunk's headers: only when something receives them.
        builder.AddIngestTelemetry(
            ApiTelemetry.Name,
            metrics => metrics.AddMeter(ApiTelemetry.Name),
            tracing => tracing.AddSource(ApiTelemetry.Name).AddAspNetCoreInstrumentation());
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
