using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Ingest.Api.Telemetry;

/// <summary>Tracing and metrics: ASP.NET Core, Npgsql and our own source/meter; Prometheus always, OTLP when configured.</summary>
public static class TelemetrySetup
{
    public static WebApplicationBuilder AddApiTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ApiTelemetry.Name))
            .WithTracing(tracing => tracing
                .AddSource(ApiTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddNpgsql())
            .WithMetrics(metrics => metrics
                .AddMeter(ApiTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Counts refused payload posts by status, whoever refused them (auth, validation, Kafka).</summary>
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
                metrics.Refused(status, reason);
            }
        });
        return app;
    }
}
