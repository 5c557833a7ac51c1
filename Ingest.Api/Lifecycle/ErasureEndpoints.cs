using System.Globalization;
using Ingest.Api.Auth;
using Ingest.Api.Problems;
using Ingest.Api.Sessions;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Identity;
using Ingest.Storage.Lifecycle;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Lifecycle;

/// <summary>
/// Body of a 202 to <c>DELETE /v1/sessions/{sessionId}</c>: when the session was first erased, and the bound within which
/// its stored bytes, staged chunks and pending uploads are physically removed (human-readable, not for parsing).
/// </summary>
public sealed record SessionErased(string SessionId, DateTimeOffset ErasedAt, string RemovalBound);

/// <summary>
/// <c>DELETE /v1/sessions/{sessionId}</c> (scope <c>erase</c>) records an erasure, and posts to an erased session are
/// refused with 410 before their body is read. Always within the caller's project.
/// </summary>
public static class ErasureEndpoints
{
    public static WebApplication MapErasureEndpoints(this WebApplication app)
    {
        app.MapDelete("/v1/sessions/{sessionId}", EraseAsync).RequireAuthorization(ApiScope.Erase);
        return app;
    }

    /// <summary>
    /// Refuses (410 <c>session-erased</c>) a post to an erased session, or to a session of an erased project, from memory
    /// (<see cref="ErasedSessions"/>): nothing of it is read or produced. An invalid session id passes (the handler answers 400).
    /// </summary>
    public static RouteHandlerBuilder RefuseErasedSessions(this RouteHandlerBuilder endpoint) =>
        endpoint.AddEndpointFilterFactory((factory, next) =>
        {
            var erased = factory.ApplicationServices.GetRequiredService<ErasedSessions>();
            var logger = factory.ApplicationServices.GetRequiredService<ILogger<ErasedSessions>>();
            return async context =>
            {
                var http = context.HttpContext;
                if (http.GetRouteValue("sessionId") is not string sessionId
                    || !Ids.IsValidSessionId(sessionId)
                    || !erased.IsErased(http.User.ProjectId(), sessionId))
                {
                    return await next(context);
                }

                var project = http.User.ProjectId();
                http.Items[ApiMetrics.RefusalReasonKey] = ApiProblem.SessionErased.Slug;
                Log.PostToErasedSession(logger, project, sessionId);
                var what = erased.IsProjectErased(project) ? $"Project {project} was erased" : $"Session '{sessionId}' was erased";
                return ApiProblem.SessionErased.Result(
                    $"{what}: its payloads are no longer accepted, and nothing of this one was read or stored. Do not retry.", "sessionId");
            };
        });

    private static async Task<Results<Accepted<SessionErased>, ProblemHttpResult>> EraseAsync(
        string sessionId,
        HttpContext context,
        SessionErasures erasures,
        ErasedSessions erased,
        IOptions<LifecycleOptions> lifecycle,
        ILogger<SessionErasures> logger)
    {
        if (!Ids.IsValidSessionId(sessionId))
        {
            return SessionEndpoints.InvalidSessionId();
        }

        // Durable before any answer; a database that cannot be reached throws, and StoreUnavailableHandler answers 503.
        var project = context.User.ProjectId();
        var erasure = await erasures.EraseAsync(project, sessionId, context.RequestAborted);
        erased.Add(new ErasureTombstone(project, sessionId, erasure.KeepUntil));
        Log.SessionErased(logger, project, sessionId, erasure.Inserted, erasure.HadData);
        if (!erasure.HadData)
        {
            return ApiProblem.SessionNotFound.Result(
                $"This project has no session '{sessionId}'. The erasure is recorded all the same: payloads of it still on their way " +
                "are dropped, and later posts to it answer 410.",
                "sessionId");
        }

        return TypedResults.Accepted((string?)null, new SessionErased(sessionId, erasure.ErasedAt, RemovalBound(lifecycle.Value.CheckInterval)));
    }

    /// <summary>The workers remove an erased session's data in their next maintenance pass: within one check interval.</summary>
    private static string RemovalBound(TimeSpan checkInterval) =>
        $"within {Math.Ceiling(checkInterval.TotalSeconds).ToString(CultureInfo.InvariantCulture)} seconds";
}
