using Ingest.Contracts.Tokens;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>
/// CORS for the payload POST, per project where the project is known. A preflight carries no key and its path names no
/// project (<c>/v1/sessions/{id}/payloads</c>), so it is answered for the union of every project's
/// <c>AllowedOrigins</c>: it lets the browser send the real request, nothing more. The real request is authenticated
/// first, and its answer grants CORS only to the key's own project's origins — an origin another project allows gets
/// the 403 <c>origin-not-allowed</c> without any <c>Access-Control-Allow-Origin</c>, so the page cannot even read the
/// refusal. A request without a known key (401) is answered for the union, so a recorder on an allowed page can read
/// its 401.
/// </summary>
public sealed class ProjectCorsPolicyProvider : ICorsPolicyProvider
{
    private readonly CorsPolicy _anyProject;
    private readonly Dictionary<string, CorsPolicy> _byProject;

    public ProjectCorsPolicyProvider(ApiKeyRegistry registry, IOptions<IngestOptions> options)
    {
        _anyProject = Policy(registry.IsOriginAllowedForAnyProject);
        _byProject = options.Value.Projects.Keys.ToDictionary(
            project => project, project => Policy(origin => registry.IsOriginAllowed(project, origin)), StringComparer.Ordinal);
    }

    public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName)
    {
        if (policyName != AuthSetup.BrowserPolicy)
        {
            return Task.FromResult<CorsPolicy?>(null);
        }

        var project = context.User.FindFirst(ApiClaims.Project)?.Value;
        return Task.FromResult<CorsPolicy?>(project is null ? _anyProject : _byProject.GetValueOrDefault(project, _anyProject));
    }

    private static CorsPolicy Policy(Func<string, bool> isOriginAllowed) => new CorsPolicyBuilder()
        .SetIsOriginAllowed(isOriginAllowed)
        .WithMethods(HttpMethods.Post)
        .WithHeaders("Authorization", "Content-Type", "Content-Encoding", SessionWriteToken.Header)
        .WithExposedHeaders("Location", "Retry-After")
        .SetPreflightMaxAge(TimeSpan.FromMinutes(10))
        .Build();
}
