using System.Security.Claims;
using System.Text.Encodings.Web;
using Ingest.Api.Problems;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>Claim types the API key handler issues.</summary>
public static class ApiClaims
{
    /// <summary>The project the key belongs to.</summary>
    public const string Project = "ingest:project";

    /// <summary>Which configured key it is (<c>{project}/{n}</c>), for per-key limits.</summary>
    public const string Key = "ingest:key";

    /// <summary>One claim per granted scope (<see cref="ApiScope"/>).</summary>
    public const string Scope = "scope";

    /// <summary>The caller's project; only endpoints that require authorization call this.</summary>
    public static string ProjectId(this ClaimsPrincipal user) =>
        user.FindFirstValue(Project) ?? throw new InvalidOperationException("Authenticated principal without a project claim.");

    /// <summary>The caller's key id (<c>{project}/{n}</c>); only endpoints that require authorization call this.</summary>
    public static string KeyId(this ClaimsPrincipal user) =>
        user.FindFirstValue(Key) ?? throw new InvalidOperationException("Authenticated principal without a key claim.");
}

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c>: the key's SHA-256 is looked up among the configured hashes.
/// A missing or unknown key is answered 401 with <c>WWW-Authenticate: Bearer</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyRegistry registry,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    private const string BearerPrefix = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length == BearerPrefix.Length)
        {
            Log.MalformedAuthorization(Logger, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header is not 'Bearer <key>'."));
        }

        var match = registry.Find(header[BearerPrefix.Length..].Trim());
        if (match is null)
        {
            Log.UnknownKey(Logger, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        List<Claim> claims = [new(ApiClaims.Project, match.ProjectId), new(ApiClaims.Key, match.KeyId), .. ApiScope.Names(match.Scopes).Select(s => new Claim(ApiClaims.Scope, s))];
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = result.Failure is null ? "Bearer" : "Bearer error=\"invalid_token\"";
        var detail = result.Failure?.Message ?? "Send the project's API key as 'Authorization: Bearer <key>'.";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = ApiProblem.Unauthorized.Details(detail, "Authorization"),
        });
    }
}
