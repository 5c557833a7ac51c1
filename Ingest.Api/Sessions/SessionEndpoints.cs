using System.Globalization;
using Ingest.Api.Auth;
using Ingest.Api.Problems;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Identity;
using Ingest.Storage.Reading;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Ingest.Api.Sessions;

/// <summary>Body of a payload list page; <see cref="Next"/> is null on the last page.</summary>
public sealed record PayloadPage(IReadOnlyList<PayloadItem> Items, string? Next);

/// <summary>Read-back endpoints (scope <c>read</c>), always within the caller's project: another project's session is 404.</summary>
public static class SessionEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static WebApplication MapSessionEndpoints(this WebApplication app)
    {
        var session = app.MapGroup("/v1/sessions/{sessionId}").RequireAuthorization(ApiScope.Read);
        session.MapGet("", GetSessionAsync);
        session.MapGet("/payloads", ListPayloadsAsync);
        session.MapGet("/payloads/{seq}", GetPayloadAsync);
        return app;
    }

    private static async Task<IResult> GetSessionAsync(string sessionId, HttpContext context, SessionReader reader)
    {
        if (!Ids.IsValidSessionId(sessionId))
        {
            return InvalidSessionId();
        }

        var summary = await reader.GetSummaryAsync(context.User.ProjectId(), sessionId, context.RequestAborted);
        return summary is null ? SessionNotFound(sessionId) : TypedResults.Ok(summary);
    }

    private static async Task<IResult> ListPayloadsAsync(string sessionId, string? cursor, string? limit, HttpContext context, SessionReader reader)
    {
        if (!Ids.IsValidSessionId(sessionId))
        {
            return InvalidSessionId();
        }

        var after = 0L;
        if (cursor is not null && !PayloadCursor.TryDecode(cursor, out after))
        {
            return ApiProblem.InvalidCursor.Result("cursor must be a 'next' value from a previous page.", "cursor");
        }

        var pageSize = DefaultLimit;
        if (limit is not null
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxLimit))
        {
            return ApiProblem.InvalidLimit.Result($"limit must be an integer in 1 … {MaxLimit}.", "limit");
        }

        var projectId = context.User.ProjectId();
        // One row more than asked tells whether another page follows, without a count query.
        var items = await reader.ListAsync(projectId, sessionId, after, pageSize + 1, context.RequestAborted);
        if (items.Count == 0 && !await reader.ExistsAsync(projectId, sessionId, context.RequestAborted))
        {
            return SessionNotFound(sessionId);
        }

        var more = items.Count > pageSize;
        if (more)
        {
            items.RemoveAt(items.Count - 1);
        }

        return TypedResults.Ok(new PayloadPage(items, more ? PayloadCursor.Encode(items[^1].Position) : null));
    }

    private static async Task<IResult> GetPayloadAsync(
        string sessionId, string seq, HttpContext context, SessionReader reader, ILogger<SessionReader> logger)
    {
        if (!Ids.IsValidSessionId(sessionId))
        {
            return InvalidSessionId();
        }

        if (!Ids.TryParseSeq(seq, out var number))
        {
            return ApiProblem.InvalidSeq.Result($"seq must be an integer in 0 … {long.MaxValue}.", "seq");
        }

        var projectId = context.User.ProjectId();
        var stored = await reader.GetPayloadAsync(projectId, sessionId, number, context.RequestAborted);
        if (stored is null)
        {
            return ApiProblem.PayloadNotFound.Result($"Session '{sessionId}' has no stored payload with seq {number} (yet).", "seq");
        }

        // A single block is checked before anything is sent, so its corruption is still a clean 500.
        if (stored.EncodedBody is { } single)
        {
            try
            {
                PayloadCodec.GetDecodedLength(single);
            }
            catch (PayloadFormatException ex)
            {
                Log.CorruptPayload(logger, projectId, sessionId, number, ex.Message);
                return ApiProblem.StoredPayloadCorrupt.Result($"The stored payload does not decode: {ex.Message}");
            }
        }

        return new StoredPayloadResult(
            stored, $"{sessionId}-{number}.bin", reader, error => Log.CorruptPayload(logger, projectId, sessionId, number, error));
    }

    /// <summary>The 400 for a session id that does not match the contract's pattern (also the DELETE's).</summary>
    internal static ProblemHttpResult InvalidSessionId() =>
        ApiProblem.InvalidSessionId.Result($"sessionId must match ^[A-Za-z0-9_-]{{1,{Ids.MaxSessionIdLength}}}$.", "sessionId");

    private static IResult SessionNotFound(string sessionId) =>
        ApiProblem.SessionNotFound.Result($"This project has no session '{sessionId}'.", "sessionId");
}
