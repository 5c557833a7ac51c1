namespace Ingest.Api.Security;

/// <summary>
/// Headers every response carries, whatever answered it (an endpoint, CORS, the problem writer, the exception handler):
/// <c>X-Content-Type-Options: nosniff</c> (a browser never guesses a type: a stored payload or a problem cannot be
/// taken for HTML or script), <c>Referrer-Policy: no-referrer</c> (the pages' URLs name sessions), and — unless the
/// endpoint set its own — <c>Content-Security-Policy: default-src 'none'; frame-ancestors 'none'</c>: an API answer is
/// data, nothing in it may load or run, and no page may frame it.
/// </summary>
public static class SecurityHeaders
{
    public const string NoSniff = "nosniff";
    public const string ReferrerPolicy = "no-referrer";
    public const string DefaultContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";

    /// <summary>First in the pipeline, so every answer gets them; set as the response starts, after any handler cleared it.</summary>
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.XContentTypeOptions = NoSniff;
                headers["Referrer-Policy"] = ReferrerPolicy;
                if (!headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.ContentSecurityPolicy))
                {
                    headers.ContentSecurityPolicy = DefaultContentSecurityPolicy;
                }

                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });
        return app;
    }
}
