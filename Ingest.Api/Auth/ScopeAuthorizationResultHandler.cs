using Ingest.Api.Problems;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Ingest.Api.Auth;

/// <summary>Answers a key that lacks the endpoint's scope with a 403 problem naming the scope.</summary>
public sealed class ScopeAuthorizationResultHandler(IProblemDetailsService problems, ILogger<ScopeAuthorizationResultHandler> logger)
    : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var scope = authorizeResult.AuthorizationFailure?.FailedRequirements
            .OfType<ClaimsAuthorizationRequirement>()
            .SelectMany(requirement => requirement.AllowedValues ?? [])
            .FirstOrDefault() ?? "?";
        var project = context.User.FindFirst(ApiClaims.Project)?.Value ?? "?";
        Log.MissingScope(logger, project, scope, context.Request.Path);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = ApiProblem.MissingScope.Details($"This API key lacks the '{scope}' scope.", "Authorization"),
        });
    }
}
