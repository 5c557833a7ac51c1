namespace Ingest.Api.Status;

/// <summary>
/// <c>/status</c>: a small live page for a developer without kafka-ui (per-partition lag, ingest and store
/// rates, DLQ depth, a chart); <c>/status/data</c>: the numbers behind it. Unauthenticated, like <c>/metrics</c>.
/// </summary>
public static class StatusEndpoints
{
    public static WebApplicationBuilder AddPipelineStatus(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PipelineStatus>();
        return builder;
    }

    public static WebApplication MapStatusEndpoints(this WebApplication app)
    {
        app.MapGet("/status", () => Results.Content(StatusPage.Html, "text/html; charset=utf-8")).AllowAnonymous();
        app.MapGet("/status/data", async (PipelineStatus status, CancellationToken cancellationToken) =>
            TypedResults.Ok(await Task.Run(status.Read, cancellationToken))).AllowAnonymous();
        return app;
    }
}
