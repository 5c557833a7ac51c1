using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Ingest.Api.Problems;

/// <summary>
/// One kind of failure the API answers with: a stable <c>type</c> URI, its status and title. Clients
/// branch on <see cref="Type"/>; the <c>detail</c> and <c>field</c> members say what was wrong.
/// </summary>
public sealed record ApiProblem(string Slug, int Status, string Title)
{
    private const string TypePrefix = "urn:ingest:problem:";

    public static readonly ApiProblem InvalidSessionId = new("invalid-session-id", 400, "Invalid session id");
    public static readonly ApiProblem InvalidSeq = new("invalid-seq", 400, "Invalid sequence number");
    public static readonly ApiProblem EmptyBody = new("empty-body", 400, "Empty payload");
    public static readonly ApiProblem UndecodableBody = new("undecodable-body", 400, "Body does not decode");
    public static readonly ApiProblem InvalidCursor = new("invalid-cursor", 400, "Invalid cursor");
    public static readonly ApiProblem InvalidLimit = new("invalid-limit", 400, "Invalid limit");
    public static readonly ApiProblem Unauthorized = new("unauthorized", 401, "Missing or unknown API key");
    public static readonly ApiProblem MissingScope = new("missing-scope", 403, "API key lacks the scope");
    public static readonly ApiProblem OriginNotAllowed = new("origin-not-allowed", 403, "Origin not allowed for this project");
    public static readonly ApiProblem SessionTokenMissing = new("session-token-missing", 403, "Session write token required");
    public static readonly ApiProblem SessionTokenMalformed = new("session-token-malformed", 403, "Session write token malformed");
    public static readonly ApiProblem SessionTokenInvalid = new("session-token-invalid", 403, "Session write token not valid for this session");
    public static readonly ApiProblem SessionTokenExpired = new("session-token-expired", 403, "Session write token expired");
    public static readonly ApiProblem SessionTokenTooLongLived = new("session-token-too-long-lived", 403, "Session write token lives too long");
    public static readonly ApiProblem SessionNotFound = new("session-not-found", 404, "Session not found");
    public static readonly ApiProblem PayloadNotFound = new("payload-not-found", 404, "Payload not found");
    public static readonly ApiProblem SessionErased = new("session-erased", 410, "Session erased");
    public static readonly ApiProblem PayloadTooLarge = new("payload-too-large", 413, "Payload too large");
    public static readonly ApiProblem MessageTooLarge = new("message-too-large", 413, "Kafka refuses a chunk as too large");
    public static readonly ApiProblem IncompleteBody = new("incomplete-body", 400, "Request body incomplete");
    public static readonly ApiProblem BudgetSpent = new("inflight-budget-spent", 429, "Too many bytes in flight");
    public static readonly ApiProblem InflightShareSpent = new("inflight-share-spent", 429, "This project has its share of the bytes in flight");
    public static readonly ApiProblem ConcurrencyLimit = new("concurrency-limit", 429, "Too many uploads at once for this project or key");
    public static readonly ApiProblem RateLimit = new("rate-limit", 429, "Too many uploads per second for this project or key");
    public static readonly ApiProblem ByteRateLimit = new("byte-rate-limit", 429, "Too many bytes per second for this project or key");
    public static readonly ApiProblem UploadIdle = new("upload-idle", 408, "The upload stopped sending");
    public static readonly ApiProblem Lz4BlockTooLarge = new("lz4-block-too-large", 400, "LZ4 frame blocks are too large");
    public static readonly ApiProblem BudgetTimeout = new("inflight-budget-timeout", 503, "Upload stalled waiting for in-flight budget");
    public static readonly ApiProblem UnsupportedMediaType = new("unsupported-media-type", 415, "Unsupported Content-Type");
    public static readonly ApiProblem UnsupportedEncoding = new("unsupported-content-encoding", 415, "Unsupported Content-Encoding");
    public static readonly ApiProblem StoredPayloadCorrupt = new("stored-payload-corrupt", 500, "Stored payload is corrupt");
    public static readonly ApiProblem BrokerUnavailable = new("broker-unavailable", 503, "Kafka did not take the payload in time");
    public static readonly ApiProblem BacklogFull = new("backlog-full", 503, "The workers are behind on this session's partition");
    public static readonly ApiProblem BacklogTimeout = new("backlog-timeout", 503, "Upload stalled waiting for the workers to catch up");
    public static readonly ApiProblem ShuttingDown = new("shutting-down", 503, "The API is stopping");
    public static readonly ApiProblem NotReady = new("not-ready", 503, "Not ready");
    public static readonly ApiProblem DatabaseUnavailable = new("database-unavailable", 503, "The session store is unavailable");

    /// <summary>A client that went away: logged and counted with nginx's 499, never sent (there is nobody to send it to).</summary>
    public static readonly ApiProblem ClientClosedRequest = new("client-disconnected", 499, "Client closed request");

    /// <summary>The problem's <c>type</c> member.</summary>
    public string Type => TypePrefix + Slug;

    /// <summary>A problem document; <paramref name="field"/> names the offending request part, if any.</summary>
    public ProblemDetails Details(string detail, string? field = null, IEnumerable<KeyValuePair<string, object?>>? extensions = null)
    {
        var problem = new ProblemDetails { Type = Type, Status = Status, Title = Title, Detail = detail };
        if (field is not null)
        {
            problem.Extensions["field"] = field;
        }

        foreach (var (name, value) in extensions ?? [])
        {
            problem.Extensions[name] = value;
        }

        return problem;
    }

    /// <summary>The problem as an endpoint result (<c>application/problem+json</c>).</summary>
    public ProblemHttpResult Result(string detail, string? field = null, IEnumerable<KeyValuePair<string, object?>>? extensions = null) =>
        TypedResults.Problem(Details(detail, field, extensions));
}
