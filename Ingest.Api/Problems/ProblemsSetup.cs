using System.Diagnostics;

namespace Ingest.Api.Problems;

/// <summary>Every error answered as RFC 7807 <c>application/problem+json</c>, including unhandled exceptions and bare status codes.</summary>
public static class ProblemsSetup
{
    public static WebApplicationBuilder AddApiProblems(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions.TryAdd(
                "traceId", Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier);
        });
        return builder;
    }

    public static WebApplication UseApiProblems(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}
