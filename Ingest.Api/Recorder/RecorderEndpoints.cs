using Microsoft.Net.Http.Headers;

namespace Ingest.Api.Recorder;

/// <summary>
/// <c>/sdk/{file}</c>: the browser recorder (<c>ingest-recorder.js</c>), the replay player and the status page's script; <c>/replay/{sessionId}</c>:
/// the replay page. Anonymous: they hold no data; the replay page asks for a read key and uses the read API with it.
/// </summary>
public static class RecorderEndpoints
{
    /// <summary>Browsers may reuse a bundle for an hour and revalidate it cheaply by ETag afterwards.</summary>
    private const string AssetCacheControl = "public, max-age=3600";

    public static WebApplicationBuilder AddRecorderSdk(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RecorderAssets>();
        return builder;
    }

    public static WebApplication MapRecorderSdk(this WebApplication app)
    {
        app.MapGet("/sdk/{file}", (string file, HttpContext context, RecorderAssets assets) =>
            assets.Find(file) is { } asset ? Serve(context, asset) : Results.NotFound()).AllowAnonymous();
        app.MapGet("/replay/{sessionId}", (HttpContext context) =>
        {
            // The page reads its key from the URL fragment, which no server sees; nothing here may cache or leak it.
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers["Referrer-Policy"] = "no-referrer";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.ContentSecurityPolicy = ReplayPage.ContentSecurityPolicy;
            return Results.Content(ReplayPage.Html, "text/html; charset=utf-8");
        }).AllowAnonymous();
        return app;
    }

    /// <summary>An asset with its ETag, gzip when the client takes it, and <paramref name="cacheControl"/> (default: an hour).</summary>
    internal static IResult Serve(HttpContext context, RecorderAsset asset, string cacheControl = AssetCacheControl)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = cacheControl;
        headers.ETag = asset.ETag;
        headers.Vary = HeaderNames.AcceptEncoding;
        headers.XContentTypeOptions = "nosniff";
        // Pages with Cross-Origin-Embedder-Policy may load the recorder from the API's origin.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        if (context.Request.Headers.IfNoneMatch.Contains(asset.ETag))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        var acceptsGzip = context.Request.GetTypedHeaders().AcceptEncoding
            .Any(e => e.Value.Equals("gzip", StringComparison.OrdinalIgnoreCase) && e.Quality is not 0);
        if (!acceptsGzip)
        {
            return Results.Bytes(asset.Bytes, asset.ContentType);
        }

        headers.ContentEncoding = "gzip";
        return Results.Bytes(asset.Gzip, asset.ContentType);
    }
}
