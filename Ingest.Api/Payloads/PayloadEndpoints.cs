using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Ingest.Api.Auth;
using Ingest.Api.Lifecycle;
using Ingest.Api.Limits;
using Ingest.Api.Problems;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using IngestResult = Microsoft.AspNetCore.Http.HttpResults.Results<
    Microsoft.AspNetCore.Http.HttpResults.Accepted<Ingest.Api.Payloads.PayloadAccepted>,
    Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult,
    Microsoft.AspNetCore.Http.HttpResults.StatusCodeHttpResult>;

namespace Ingest.Api.Payloads;

/// <summary>Body of a 202: where the payload went (the partition and offset of its last chunk).</summary>
public sealed record PayloadAccepted(string SessionId, long Seq, long Bytes, int Partition, long Offset);

/// <summary>
/// <c>POST /v1/sessions/{sessionId}/payloads?seq={n}</c> (scope <c>ingest</c>): admit, check, publish, answer. Every answer
/// is a 202, a problem (<see cref="UploadProblems"/> for what became of the upload), or 499 for a client that went away.
/// </summary>
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
            .RequireSessionToken()
            .RefuseErasedSessions();
        return app;
    }

    private static async Task<IngestResult> IngestAsync(string sessionId, [AsParameters] IngestServices services)
    {
        // Limits first, before anything is read or validated: a flood of bad requests is a flood too.
        var user = services.Context.User;
        using var admission = services.Limiter.Admit(new UploadCaller(user.ProjectId(), user.KeyId()));
        if (admission.Refusal is { } refusal)
        {
            return RefuseLimit(services, refusal);
        }

        if (!TryReadUpload(services, sessionId, out var upload, out var invalid))
        {
            return invalid;
        }

        return await PublishAsync(services, upload, admission) switch
        {
            PublishResult.Delivered delivered => Accept(services, upload.Target, delivered),
            UploadFailure failure => Report(services, upload, failure),
            var other => throw new InvalidOperationException($"Unexpected publish result {other}."),
        };
    }

    /// <summary>The upload the request describes, or the problem with its session id, seq, Content-Type or Content-Encoding.</summary>
    private static bool TryReadUpload(
        IngestServices services, string sessionId, [NotNullWhen(true)] out Upload? upload, [NotNullWhen(false)] out ProblemHttpResult? invalid)
    {
        var request = services.Context.Request;
        upload = null;
        invalid = null;
        if (!Ids.IsValidSessionId(sessionId))
        {
            invalid = Refuse(services, ApiProblem.InvalidSessionId, $"sessionId must match ^[A-Za-z0-9_-]{{1,{Ids.MaxSessionIdLength}}}$.", "sessionId");
        }
        else if (!Ids.TryParseSeq(request.Query["seq"].ToString(), out var seq))
        {
            invalid = Refuse(services, ApiProblem.InvalidSeq, $"seq must be one integer in 0 … {long.MaxValue}.", "seq");
        }
        else if (PayloadContent.NegotiateMediaType(request.ContentType) is not { } contentType)
        {
            invalid = Refuse(
                services, ApiProblem.UnsupportedMediaType, $"Content-Type must be {PayloadContent.Json} or {PayloadContent.OctetStream}.", "Content-Type");
        }
        else if (!PayloadContent.TryNegotiateCoding(request.Headers.ContentEncoding, out var coding))
        {
            invalid = Refuse(
                services, ApiProblem.UnsupportedEncoding, "Content-Encoding must be absent, identity, gzip or lz4 (LZ4 frame).", "Content-Encoding");
        }
        else
        {
            upload = new Upload(new PayloadTarget(services.Context.User.ProjectId(), sessionId, seq, contentType), coding);
        }

        return upload is not null;
    }

    /// <summary>Streams the body to Kafka until it is delivered, fails, its client goes away or the shutdown deadline passes.</summary>
    private static async Task<PublishResult> PublishAsync(IngestServices services, Upload upload, UploadAdmission admission)
    {
        var (request, api) = (services.Context.Request, services.Api.Value);
        var aborted = services.Context.RequestAborted;
        PublishResult published;
        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted, services.Shutdown.Token))
        await using (var body = PayloadBodyStream.Open(request.BodyReader, upload.Coding, api.MaxPayloadBytes, api.UploadIdleTimeout, services.Time))
        {
            published = await services.Publisher.PublishAsync(upload.Target, body, request.ContentLength, admission, cancel.Token);
        }

        // Cut short by the shutdown deadline, not by its client.
        return published is UploadFailure { Outcome: UploadOutcome.ClientDisconnected }
            && services.Shutdown.Token.IsCancellationRequested && !aborted.IsCancellationRequested
            ? UploadFailure.ShuttingDown(api.ShutdownTimeout)
            : published;
    }

    private static Accepted<PayloadAccepted> Accept(IngestServices services, PayloadTarget target, PublishResult.Delivered delivered)
    {
        services.Metrics.Accepted(delivered.Bytes);
        Log.Accepted(services.Logger, target.ProjectId, target.SessionId, target.Seq, delivered.Bytes, delivered.Chunks, delivered.Partition, delivered.Offset);
        return TypedResults.Accepted(
            $"/v1/sessions/{target.SessionId}/payloads/{target.Seq.ToString(CultureInfo.InvariantCulture)}",
            new PayloadAccepted(target.SessionId, target.Seq, delivered.Bytes, delivered.Partition, delivered.Offset));
    }

    /// <summary>The answer to a failed upload, from the one outcome table; a client that went away gets only its 499 counted.</summary>
    private static IngestResult Report(IngestServices services, Upload upload, UploadFailure failure)
    {
        LogFailure(services, upload, failure);
        var (problem, retryAfter) = UploadProblems.For(failure.Outcome);
        if (problem.Status == ClientClosedRequest)
        {
            services.Metrics.ClientDisconnected();
            services.Context.Items[ApiMetrics.RefusalReasonKey] = problem.Slug;
            return TypedResults.StatusCode(ClientClosedRequest);
        }

        return Refuse(services, problem, failure.Detail, failure.Field, failure.Extensions, retryAfter, failure.Status);
    }

    private static void LogFailure(IngestServices services, Upload upload, UploadFailure failure)
    {
        var (logger, target) = (services.Logger, upload.Target);
        switch (failure.Outcome)
        {
            case UploadOutcome.UploadIdle:
                Log.Idle(logger, target.ProjectId, target.SessionId, target.Seq, services.Api.Value.UploadIdleTimeout);
                break;
            case UploadOutcome.Undecodable:
                Log.Undecodable(logger, target.ProjectId, target.SessionId, target.Seq, upload.Coding, failure.Reason);
                break;
            case UploadOutcome.IncompleteBody:
                Log.BadBody(logger, target.ProjectId, target.SessionId, target.Seq, failure.Status ?? ApiProblem.IncompleteBody.Status, failure.Detail);
                break;
            case UploadOutcome.ClientDisconnected:
                Log.ClientDisconnected(logger, target.ProjectId, target.SessionId, target.Seq);
                break;
        }
    }

    /// <summary>A per-project or per-key limit is reached: 429 with the limiter's own Retry-After when it has one.</summary>
    private static ProblemHttpResult RefuseLimit(IngestServices services, LimitRefusal refusal)
    {
        var result = Refuse(
            services,
            refusal.Problem,
            $"The {refusal.Scope}'s limit of {refusal.Limit.ToString(CultureInfo.InvariantCulture)} {LimitUnit(refusal.Problem)} is reached; " +
            "nothing was read or stored: retry the same seq after the indicated delay.",
            extensions: [new("scope", refusal.Scope), new("limit", refusal.Limit)],
            retryAfter: true);
        if (refusal.RetryAfter is { } retryAfter)
        {
            services.Context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return result;
    }

    /// <summary>A problem answer, counted under its slug, with <c>Retry-After: Api:RetryAfterSeconds</c> when it asks for a retry.</summary>
    private static ProblemHttpResult Refuse(
        IngestServices services,
        ApiProblem problem,
        string detail,
        string? field = null,
        IEnumerable<KeyValuePair<string, object?>>? extensions = null,
        bool retryAfter = false,
        int? status = null)
    {
        var context = services.Context;
        context.Items[ApiMetrics.RefusalReasonKey] = problem.Slug;
        if (retryAfter)
        {
            context.Response.Headers.RetryAfter = services.Api.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        var details = problem.Details(detail, field, extensions);
        details.Status = status ?? details.Status; // Kestrel's own status for a body it refused (408: slower than MinRequestBodyDataRate)
        return TypedResults.Problem(details);
    }

    private static string LimitUnit(ApiProblem problem) =>
        problem == ApiProblem.ConcurrencyLimit ? "uploads at once" : problem == ApiProblem.RateLimit ? "uploads per second" : "bytes per second";

    /// <summary>A request that passed its checks: what it uploads, and how its body is encoded.</summary>
    private sealed record Upload(PayloadTarget Target, ContentCoding Coding);
}
