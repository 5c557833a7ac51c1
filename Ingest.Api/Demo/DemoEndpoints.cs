using System.Security.Cryptography;
using Ingest.Api.Security;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Demo;

/// <summary>
/// <c>GET /demo</c>, <c>/demo/demo.js</c>, <c>/demo/demo.css</c>: mapped only when <c>Api:Demo:Enabled</c> is true, so
/// that otherwise they are unknown routes (404) like any other. Anonymous: the page carries an ingest-only key of the demo
/// project, never one that can read or erase; the replay link leads to the replay page, which asks its viewer for a read key.
/// </summary>
public static class DemoEndpoints
{
    public static WebApplicationBuilder AddDemoPage(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DemoOptions>()
            .BindConfiguration(DemoOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DemoOptions>, DemoOptionsValidator>();
        return builder;
    }

    /// <summary>
    /// Maps the page when <c>Api:Demo:Enabled</c> is true. Only that flag is read here, unvalidated, to decide; the rest is
    /// validated when the host starts (ValidateOnStart, like every other option) and read by the handlers.
    /// </summary>
    public static WebApplication MapDemoPage(this WebApplication app)
    {
        var enabled = (app.Configuration.GetSection(DemoOptions.Section).Get<DemoOptions>() ?? new DemoOptions()).Enabled;
        if (!enabled)
        {
            return app;
        }

        app.Lifetime.ApplicationStarted.Register(() => Log.DemoEnabled(
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DemoEndpoints).FullName!),
            app.Services.GetRequiredService<IOptions<DemoOptions>>().Value.Project!));
        app.MapGet("/demo", (HttpContext context, IOptions<DemoOptions> options) =>
        {
            DemoPage.NoStore(context.Response, DemoPage.ContentSecurityPolicy);
            var demo = options.Value;
            return Results.Content(DemoPage.Html(demo.Project!, NewSessionId(), demo.IngestKey!), "text/html; charset=utf-8");
        }).AllowAnonymous();
        app.MapGet("/demo/demo.js", (HttpContext context) =>
        {
            DemoPage.NoStore(context.Response, SecurityHeaders.DefaultContentSecurityPolicy);
            return Results.Text(DemoPage.Script, "text/javascript; charset=utf-8");
        }).AllowAnonymous();
        app.MapGet("/demo/demo.css", (HttpContext context) =>
        {
            DemoPage.NoStore(context.Response, SecurityHeaders.DefaultContentSecurityPolicy);
            return Results.Text(DemoPage.Css, "text/css; charset=utf-8");
        }).AllowAnonymous();
        return app;
    }

    /// <summary><c>demo-</c> and 64 random bits in hex: a new session per page load.</summary>
    public static string NewSessionId() => $"demo-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
}
