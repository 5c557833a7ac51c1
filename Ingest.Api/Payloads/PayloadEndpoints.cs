using System.Globalization;
using Ingest.Api.Auth;
using Ingest.Api.Limits;
using Ingest.Api.Problems;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Identity;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>Body of a 202: where the payload went (the partition and offset of its last chunk).</summary>
public sealed record PayloadAccepted(string SessionId, long Seq, long Bytes, int Partition, long Offset);

/// <summary><c>POST /v1/sessions/{sessionId}/payloads?seq={n}</c> (scope <c>ingest</c>).</summary>
public static class PayloadEndpoints
{
    /// <summary>Status logged and counted for a client that went away (nginx's convention); never sent.</summary>
    public const int ClientClosedRequest = 499;

    public static WebApplication MapPayloadEndpoints(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<ShutdownDeadline>(); // armed at start-up, before any stop
        app.MapPost("/v1/sessions/{sessionId}/payloads", IngestAsync)
            .RequireAuthorization(ApiScope.Ingest)
            .RequireProjectOrigin()
            .RequireSessionToken();
        return app;
    }

    private static async Task<IResult> IngestAsync(
        string sessionId,
        HttpContext context,
        PayloadPublisher publisher,
        UploadLimiter limiter,
        ShutdownDeadline shutdown,
        IOptions<ApiOptions> api,
        ApiMetrics metrics,
        ILogger<PayloadPublisher> logger)
    {
        IResult Refuse(ApiProblem problem, string detail, string? field = null, params KeyValuePair<string, object?>[] extensions)
        {
            context.Items[ApiMetrics.RefusalReasonKey] = problem.Slug;
            if (problem.Status is 429 or 503)
            {
                context.Response.Headers.RetryAfter = api.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            return problem.Result(detail, field, extensions);
        }

        // Limits first, before anything is read or validated: a flood of bad requests is a flood too.
        var projectId = context.User.ProjectId();
        using var admission = limiter.Admit(new UploadCaller(projectId, context.User.KeyId()));
        if (admission.Refusal is { } refusal)
        {
            var result = Refuse(
                refusal.Problem,
                $"The {refusal.Scope}'s limit of {refusal.Limit.ToString(CultureInfo.InvariantCulture)} {LimitUnit(refusal.Problem)} is reached; " +
                "nothing was read or stored: retry the same seq after the indicated delay.",
                extensions: [new("scope", refusal.Scope), new("limit", refusal.Limit)]);
            if (refusal.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            return result;
        }

        if (!Ids.IsValidSessionId(sessionId))
        {
            return Refuse(ApiProblem.InvalidSessionId, $"sessionId must match ^[A-Za-z0-9_-]{{1,{Ids.MaxSessionIdLength}}}$.", "sessionId");
        }

        if (!Ids.TryParseSeq(context.Request.Query["seq"].ToString(), out var seq))
        {
            return Refuse(ApiProblem.InvalidSeq, $"seq must be one integer in 0 … {long.MaxValue}.", "seq");
        }

        var contentType = PayloadContent.NegotiateMediaType(context.Request.ContentType);
        if (contentType is null)
        {
            return Refuse(ApiProblem.UnsupportedMediaType, $"Content-Type must be {PayloadContent.Json} or {PayloadContent.OctetStream}.", "Content-Type");
        }

        if (!PayloadContent.TryNegotiateCoding(context.Request.Headers.ContentEncoding, out var coding))
        {
            return Refuse(ApiProblem.UnsupportedEncoding, "Content-Encoding must be absent, identity, gzip or lz4 (LZ4 frame).", "Content-Encoding");
        }

        var maxPayload = api.Value.MaxPayloadBytes;
        var target = new PayloadTarget(projectId, sessionId, seq, contentType);
        PublishResult published;
        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, shutdown.Token))
        await using (var body = PayloadBodyStream.Open(context.Request.BodyReader, coding, maxPayload, api.Value.UploadIdleTimeout))
        {
            published = await publisher.PublishAsync(target, body, context.Request.ContentLength, admission, cancel.Token);
        }

        if (published is PublishResult.Disconnected && shutdown.Token.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            return Refuse(ApiProblem.ShuttingDown, $"The API is stopping and the upload did not finish within {api.Value.ShutdownTimeout}. It was not stored: retry the same seq.");
        }

        switch (published)
        {
            case PublishResult.Delivered delivered:
                metrics.Accepted(delivered.Bytes);
                Log.Accepted(logger, projectId, sessionId, seq, delivered.Bytes, delivered.Chunks, delivered.Partition, delivered.Offset);
                return TypedResults.Accepted(
                    $"/v1/sessions/{sessionId}/payloads/{seq.ToString(CultureInfo.InvariantCulture)}",
                    new PayloadAccepted(sessionId, seq, delivered.Bytes, delivered.Partition, delivered.Offset));
            case PublishResult.Rejected { Outcome: BodyOutcome.TooLarge }:
                return Refuse(ApiProblem.PayloadTooLarge, $"Payloads are limited to {maxPayload} bytes after decoding.", "body", new KeyValuePair<string, object?>("limit", maxPayload));
            case PublishResult.Rejected { Outcome: BodyOutcome.Empty }:
                return Refuse(ApiProblem.EmptyBody, "The payload is empty.", "body");
            case PublishResult.Rejected { Outcome: BodyOutcome.BlockTooLarge } blocks:
                return Refuse(
                    ApiProblem.Lz4BlockTooLarge,
                    $"The body is not accepted: {blocks.Error}",
                    "body",
                    new KeyValuePair<string, object?>("maxBlockBytes", Lz4FrameGuard.MaxBlockBytes));
            case PublishResult.Idle idle:
                Log.Idle(logger, projectId, sessionId, seq, idle.Timeout);
                return Refuse(
                    ApiProblem.UploadIdle,
                    $"Nothing of the body came for {idle.Timeout} (Api:UploadIdleTimeout). It was not stored: retry the same seq.",
                    "body");
            case PublishResult.BudgetSpent { ShareSpent: true }:
                return Refuse(
                    ApiProblem.InflightShareSpent,
                    $"Project {projectId}'s uploads hold their share of the bytes in flight to Kafka; retry after the indicated delay.");
            case PublishResult.Rejected rejected:
                Log.Undecodable(logger, projectId, sessionId, seq, coding, rejected.Error);
                return Refuse(ApiProblem.UndecodableBody, $"The body is not valid {coding} data: {rejected.Error}", "body");
            case PublishResult.BadBody bad:
                Log.BadBody(logger, projectId, sessionId, seq, bad.Status, bad.Reason);
                context.Items[ApiMetrics.RefusalReasonKey] = ApiProblem.IncompleteBody.Slug;
                var details = ApiProblem.IncompleteBody.Details(bad.Reason, "body");
                details.Status = bad.Status; // 408: the body came slower than MinRequestBodyDataRate
                return TypedResults.Problem(details);
            case PublishResult.BudgetSpent:
                return Refuse(ApiProblem.BudgetSpent, "The API has too many bytes in flight to Kafka; retry after the indicated delay.");
            case PublishResult.BudgetTimeout:
                return Refuse(
                    ApiProblem.BudgetTimeout,
                    $"The upload waited more than {api.Value.BudgetWaitTimeout} for in-flight budget. It was not stored: retry the same seq.");
            case PublishResult.BacklogFull { Waited: false } full:
                return Refuse(
                    ApiProblem.BacklogFull,
                    $"Partition {full.View.Partition} already holds {full.View.Bytes} bytes in {full.View.Messages} messages that the workers " +
                    $"have not stored, the most it may hold ({full.Limit.Bytes} bytes / {full.Limit.Messages} messages) without risking the broker's " +
                    "retention. Nothing was read or stored: retry the same seq after the indicated delay.",
                    extensions: [new("partition", full.View.Partition), new("backlogBytes", full.View.Bytes), new("limitBytes", full.Limit.Bytes)]);
            case PublishResult.BacklogFull full:
                return Refuse(
                    ApiProblem.BacklogTimeout,
                    $"The upload waited {api.Value.BacklogWaitTimeout} for the workers to store what partition {full.View.Partition} holds " +
                    $"({full.View.Bytes} bytes). It was not stored: retry the same seq after the indicated delay.",
                    extensions: [new("partition", full.View.Partition), new("backlogBytes", full.View.Bytes), new("limitBytes", full.Limit.Bytes)]);
            case PublishResult.TooLarge tooLarge:
                Log.ChunkTooLarge(logger, projectId, sessionId, seq, tooLarge.MessageBytes, tooLarge.Reason);
                return Refuse(
                    ApiProblem.MessageTooLarge,
                    $"Kafka refused a {tooLarge.MessageBytes}-byte chunk as too large ({tooLarge.Reason}); Api:ChunkBytes exceeds the topic's limit.",
                    "body");
            case PublishResult.Unavailable unavailable:
                return Refuse(
                    ApiProblem.BrokerUnavailable,
                    $"Kafka did not acknowledge the payload ({unavailable.Reason}). It may or may not be stored: retry the same seq.");
            case PublishResult.Disconnected:
                metrics.ClientDisconnected();
                Log.ClientDisconnected(logger, projectId, sessionId, seq);
                context.Items[ApiMetrics.RefusalReasonKey] = "client-disconnected";
                context.Response.StatusCode = ClientClosedRequest;
                return Results.Empty;
            default:
                throw new InvalidOperationException($"Unexpected publish result {published}.");
        }
    }

    private static string LimitUnit(ApiProblem problem) =>
        problem == ApiProblem.ConcurrencyLimit ? "uploads at once" : problem == ApiProblem.RateLimit ? "uploads per second" : "bytes per second";
}
