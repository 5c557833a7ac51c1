using Ingest.Api.Recorder;

namespace Ingest.Api.Status;

/// <summary>
/// <c>/status</c>: a live page for a developer or an on-call without kafka-ui (rates, lag per partition, DLQ depth, the
/// oldest unstored payload's age, charts); <c>/status/data</c>: the numbers behind it, the background refresher's last
/// snapshot (<see cref="PipelineStatus"/>); <c>/status/history</c>: its snapshots of the last ten minutes, which the page
/// draws first. Unauthenticated, like <c>/metrics</c>. Also <c>/favicon.ico</c> and <c>/favicon.svg</c>.
/// </summary>
public static class StatusEndpoints
{
    /// <summary>The favicons never change within a build; a day, then a cheap revalidation by ETag.</summary>
    private const string IconCacheControl = "public, max-age=86400";

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
        app.MapGet("/status/history", (HttpContext context, PipelineStatus status) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return TypedResults.Ok(status.History());
        }).AllowAnonymous();

        var ico = RecorderAssets.Load("favicon.ico", "image/x-icon");
        var svg = RecorderAssets.Load("favicon.svg", "image/svg+xml");
        app.MapGet("/favicon.ico", (HttpContext context) => RecorderEndpoints.Serve(context, ico, IconCacheControl)).AllowAnonymous();
        app.MapGet("/favicon.svg", (HttpContext context) => RecorderEndpoints.Serve(context, svg, IconCacheControl)).AllowAnonymous();
        return app;
    }
}
