namespace Ingest.Worker.Health;

/// <summary>The worker's health endpoint.</summary>
public static class HealthEndpoints
{
    /// <summary>Maps <c>GET /healthz</c>: 200 while the process is alive and serving.</summary>
    public static IEndpointRouteBuilder MapWorkerHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("Healthy"));
        return app;
    }
}
