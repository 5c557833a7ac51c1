using Ingest.Api.Kafka;
using Ingest.Api.Problems;
using Ingest.Hosting.Telemetry;

namespace Ingest.Api.Health;

/// <summary><c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>: unauthenticated, for orchestrators and scrapers.</summary>
public static class HealthEndpoints
{
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).AllowAnonymous();
        app.MapGet("/readyz", async (BrokerReadiness readiness, CancellationToken cancellationToken) =>
        {
            var result = await readiness.CheckAsync(cancellationToken);
            return result.IsReady
                ? Results.Ok(new { status = "ready", reason = result.Reason })
                : ApiProblem.NotReady.Result(result.Reason);
        }).AllowAnonymous();
        app.MapPrometheusMetrics().AllowAnonymous();
        return app;
    }
}
