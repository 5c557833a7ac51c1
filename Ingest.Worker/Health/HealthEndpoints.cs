using Ingest.Worker.Consuming;
using Ingest.Worker.Startup;

namespace Ingest.Worker.Health;

/// <summary>The worker's health endpoints: unauthenticated, for orchestrators and <c>docker/up.sh</c>.</summary>
public static class HealthEndpoints
{
    /// <summary>
    /// Maps <c>GET /healthz</c> (200 while the process is alive and serving) and <c>GET /readyz</c>
    /// (<see cref="WorkerReadiness"/>: 200 once the worker is a member of its group, 503 with the reason before that).
    /// </summary>
    public static IEndpointRouteBuilder MapWorkerHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("Healthy"));
        app.MapGet("/readyz", (WorkerStartup startup, PayloadConsumer consumer) =>
        {
            var readiness = WorkerReadiness.Of(startup, consumer);
            return TypedResults.Json(readiness, statusCode: readiness.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }
}
