using Ingest.Api.Problems;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Identity;
using Ingest.Contracts.Tokens;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>
/// The projects that require session write tokens, with their secrets as HMAC keys. The public ingest key in a web page
/// says which project may post; the token, minted by the site's own backend for one session, says to which session —
/// so anyone holding the page's key can no longer claim another visitor's future seq numbers or add events to it.
/// </summary>
public sealed class SessionTokenRegistry
{
    private readonly Dictionary<string, Project> _required;

    public SessionTokenRegistry(IOptions<IngestOptions> options)
    {
        _required = options.Value.Projects
            .Where(project => project.Value.WriteTokens.Required)
            .ToDictionary(
                project => project.Key,
                project => new Project(
                    [.. project.Value.WriteTokens.Secrets.Select(SessionWriteToken.KeyOf)],
                    project.Value.WriteTokens.ClockSkew,
                    project.Value.WriteTokens.MaxLifetime),
                StringComparer.Ordinal);
    }

    /// <summary>Number of projects that require tokens.</summary>
    public int RequiredCount => _required.Count;

    /// <summary>
    /// Checks <paramref name="token"/> for a post to <paramref name="sessionId"/> of <paramref name="projectId"/>; a project
    /// that does not require tokens always passes (a token it is sent is not even read).
    /// </summary>
    public SessionTokenStatus Check(
        string projectId, string sessionId, string? token, DateTimeOffset now, out DateTimeOffset? expiresAt, out TimeSpan clockSkew, out TimeSpan maxLifetime)
    {
        expiresAt = null;
        if (!_required.TryGetValue(projectId, out var project))
        {
            (clockSkew, maxLifetime) = (TimeSpan.Zero, TimeSpan.Zero);
            return SessionTokenStatus.Valid;
        }

        (clockSkew, maxLifetime) = (project.ClockSkew, project.MaxLifetime);
        return SessionWriteToken.Verify(token, projectId, sessionId, project.Keys, now, project.ClockSkew, project.MaxLifetime, out expiresAt);
    }

    private sealed record Project(byte[][] Keys, TimeSpan ClockSkew, TimeSpan MaxLifetime);
}

/// <summary>The payload POST's session write token check (after the key and origin checks, before the body is read).</summary>
public static class SessionTokenEndpoints
{
    /// <summary>
    /// Refuses (403, a problem type per reason) a post to a project that requires session write tokens unless it carries a
    /// valid token for its session in <c>X-Ingest-Session-Token</c> or, for clients that cannot set headers, <c>?token=</c>.
    /// A post with an invalid session id passes on to the endpoint, which answers 400.
    /// </summary>
    public static RouteHandlerBuilder RequireSessionToken(this RouteHandlerBuilder endpoint) =>
        endpoint.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var sessionId = http.GetRouteValue("sessionId") as string;
            if (sessionId is null || !Ids.IsValidSessionId(sessionId))
            {
                return await next(context);
            }

            var services = http.RequestServices;
            var project = http.User.ProjectId();
            string? header = http.Request.Headers[SessionWriteToken.Header];
            var token = string.IsNullOrEmpty(header) ? http.Request.Query[SessionWriteToken.QueryParameter].ToString() : header;
            var field = string.IsNullOrEmpty(header) && !string.IsNullOrEmpty(token) ? SessionWriteToken.QueryParameter : SessionWriteToken.Header;
            var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
            var status = services.GetRequiredService<SessionTokenRegistry>()
                .Check(project, sessionId, token, now, out var expiresAt, out var skew, out var maxLifetime);
            if (status == SessionTokenStatus.Valid)
            {
                return await next(context);
            }

            var setting = $"Ingest:Projects:{project}:WriteTokens";
            var (problem, detail) = status switch
            {
                SessionTokenStatus.Missing => (ApiProblem.SessionTokenMissing,
                    $"Project {project} requires a session write token: send the token the site's backend minted for session " +
                    $"'{sessionId}' in the {SessionWriteToken.Header} header (or the '{SessionWriteToken.QueryParameter}' query parameter)."),
                SessionTokenStatus.Malformed => (ApiProblem.SessionTokenMalformed,
                    $"The session write token is not {SessionWriteToken.Version}.<expiry: Unix seconds>.<base64url HMAC-SHA256, 43 characters>."),
                SessionTokenStatus.Expired => (ApiProblem.SessionTokenExpired,
                    $"The session write token expired at {expiresAt:O} (clock skew allowed: {skew}); get a new one from the site's backend."),
                SessionTokenStatus.TooLongLived => (ApiProblem.SessionTokenTooLongLived,
                    $"The session write token expires at {expiresAt:O}, more than {setting}:MaxLifetime ({maxLifetime}) from now; mint shorter-lived tokens."),
                _ => (ApiProblem.SessionTokenInvalid,
                    $"The session write token was not signed for project {project} and session '{sessionId}' with a current secret of the project."),
            };
            http.Items[ApiMetrics.RefusalReasonKey] = problem.Slug;
            Log.SessionTokenRefused(services.GetRequiredService<ILogger<SessionTokenRegistry>>(), project, sessionId, problem.Slug);
            return problem.Result(detail, field);
        });
}
