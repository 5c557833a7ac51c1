namespace Ingest.Api.Status;

/// <summary>
/// <c>/status</c>: a small live page for a developer without kafka-ui (per-partition lag, ingest and store
/// rates, DLQ depth, a chart); <c>/status/data</c>: the numbers behind it, the background refresher's last snapshot
/// (<see cref="PipelineStatus"/>). Unauthenticated, like <c>/metrics</c>.
/// </summary>
public static class StatusEndpoints
{
    public static WebApplicationBuilder AddPipelineStatus(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PipelineStatus>();
        builder.Services.AddHostedService(services => services.GetRequiredService<PipelineStatus>());
        return builder;
    }

    public static WebApplication MapStatusEndpoints(this WebApplication app)
    {
        app.MapGet("/status", (HttpContext context) =>
        {
            context.Response.Headers.ContentSecurityPolicy = StatusPage.ContentSecurityPolicy;
            context.Response.Headers.CacheControl = "no-store";
            return Results.Content(StatusPage.Html, "text/html; charset=utf-8");
        }).AllowAnonymous();
        app.MapGet("/status/data", (HttpContext context, PipelineStatus status) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return TypedResults.Ok(status.Read());
        }).AllowAnonymous();
        return app;
    }
}
