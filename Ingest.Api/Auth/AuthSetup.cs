using Microsoft.AspNetCore.Authorization;
using Ingest.Contracts.Tokens;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>API-key authentication, the <c>ingest</c>/<c>read</c> policies and CORS for browser recorders.</summary>
public static class AuthSetup
{
    /// <summary>CORS policy of the payload POST endpoint.</summary>
    public const string BrowserPolicy = "ingest-browsers";

    public static WebApplicationBuilder AddApiKeyAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<IngestOptions>()
            .BindConfiguration(IngestOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<IngestOptions>, IngestOptionsValidator>();
        builder.Services.AddSingleton<ApiKeyRegistry>();
        builder.Services.AddSingleton<SessionTokenRegistry>();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(
                ApiKeyAuthenticationHandler.SchemeName, configureOptions: null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiScope.Ingest, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiClaims.Scope, ApiScope.Ingest))
            .AddPolicy(ApiScope.Read, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiClaims.Scope, ApiScope.Read));
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, ScopeAuthorizationResultHandler>();

        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<ApiKeyRegistry>((cors, registry) =>
            cors.AddPolicy(BrowserPolicy, policy => policy
                .SetIsOriginAllowed(registry.IsOriginAllowedForAnyProject)
                .WithMethods(HttpMethods.Post)
                .WithHeaders("Authorization", "Content-Type", "Content-Encoding", SessionWriteToken.Header)
                .WithExposedHeaders("Location", "Retry-After")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
        return builder;
    }

    public static WebApplication UseApiKeyAuth(this WebApplication app)
    {
        // CORS before authentication: a preflight carries no key and is answered by the CORS middleware.
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Refuses (403) a browser request whose <c>Origin</c> is not among the key's project's
    /// <c>AllowedOrigins</c>. Requests without <c>Origin</c> (servers, curl) pass.
    /// </summary>
    public static RouteHandlerBuilder RequireProjectOrigin(this RouteHandlerBuilder endpoint) =>
        endpoint.RequireCors(BrowserPolicy).AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            string? origin = http.Request.Headers.Origin;
            if (string.IsNullOrEmpty(origin))
            {
                return await next(context);
            }

            var project = http.User.ProjectId();
            if (http.RequestServices.GetRequiredService<ApiKeyRegistry>().IsOriginAllowed(project, origin))
            {
                return await next(context);
            }

            Log.OriginRefused(http.RequestServices.GetRequiredService<ILogger<ApiKeyRegistry>>(), project, origin);
            return Problems.ApiProblem.OriginNotAllowed.Result(
                $"Origin '{origin}' is not in Ingest:Projects:{project}:AllowedOrigins.", "Origin");
        });
}
