using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>API-key authentication, the <c>ingest</c>/<c>read</c>/<c>erase</c> policies and CORS for browser recorders.</summary>
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
        builder.Services.AddHostedService<ApiKeyReport>();
        builder.Services.AddSingleton<SessionTokenRegistry>();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(
                ApiKeyAuthenticationHandler.SchemeName, configureOptions: null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiScope.Ingest, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiClaims.Scope, ApiScope.Ingest))
            .AddPolicy(ApiScope.Read, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiClaims.Scope, ApiScope.Read))
            .AddPolicy(ApiScope.Erase, policy => policy.RequireAuthenticatedUser().RequireClaim(ApiClaims.Scope, ApiScope.Erase));
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, ScopeAuthorizationResultHandler>();

        builder.Services.AddCors();
        builder.Services.Replace(ServiceDescriptor.Singleton<ICorsPolicyProvider, ProjectCorsPolicyProvider>());
        return builder;
    }

    public static WebApplication UseApiKeyAuth(this WebApplication app)
    {
        // CORS after authentication, so a real request's answer is granted for its key's project only
        // (ProjectCorsPolicyProvider); before authorization, so a preflight (no key) is answered by CORS, not refused 401.
        app.UseAuthentication();
        app.UseCors();
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
