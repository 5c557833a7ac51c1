using System.Globalization;
using Ingest.Api.Auth;
using Ingest.Api.Problems;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Identity;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>Body of a 202: where the payload went.</summary>
public sealed record PayloadAccepted(string SessionId, long Seq, long Bytes, int Partition, long Offset);

/// <summary><c>POST /v1/sessions/{sessionId}/payloads?seq={n}</c> (scope <c>ingest</c>).</summary>
public static class PayloadEndpoints
{
    public static WebApplication MapPayloadEndpoints(this WebApplication app)
    {
        app.MapPost("/v1/sessions/{sessionId}/payloads", IngestAsync)
            .RequireAuthorization(ApiScope.Ingest)
            .RequireProjectOrigin();
        return app;
    }

    private static async Task<IResult> IngestAsync(
        string sessionId, HttpContext context, PayloadPublisher publisher, IOptions<ApiOptions> api, ApiMetrics metrics, ILogger<PayloadPublisher> logger)
    {
        if (!Ids.IsValidSessionId(sessionId))
        {
            return ApiProblem.InvalidSessionId.Result(
                $"sessionId must match ^[A-Za-z0-9_-]{{1,{Ids.MaxSessionIdLength}}}$.", "sessionId");
        }

        if (!Ids.TryParseSeq(context.Request.Query["seq"].ToString(), out var seq))
        {
            return ApiProblem.InvalidSeq.Result($"seq must be an integer in 0 … {long.MaxValue}.", "seq");
        }

        var contentType = PayloadContent.NegotiateMediaType(context.Request.ContentType);
        if (contentType is null)
        {
            return ApiProblem.UnsupportedMediaType.Result(
                $"Content-Type must be {PayloadContent.Json} or {PayloadContent.OctetStream}.", "Content-Type");
        }

        if (!PayloadContent.TryNegotiateCoding(context.Request.Headers.ContentEncoding, out var coding))
        {
            return ApiProblem.UnsupportedEncoding.Result("Content-Encoding must be absent, identity, gzip or lz4 (LZ4 frame).", "Content-Encoding");
        }

        var projectId = context.User.ProjectId();
        var maxPayload = api.Value.MaxPayloadBytes;
        // One message for now: the codec's block limit caps what is worth buffering (chunking lifts it).
        var limit = (int)Math.Min(maxPayload, PayloadCodec.MaxDecodedLength);
        var read = await PayloadBodyReader.ReadAsync(context.Request.Body, coding, limit, context.Request.ContentLength, context.RequestAborted);
        switch (read.Outcome)
        {
            case BodyOutcome.TooLarge when limit == maxPayload:
                return ApiProblem.PayloadTooLarge.Result(
                    $"Payloads are limited to {maxPayload} bytes after decoding.", "body", Limit(maxPayload));
            case BodyOutcome.TooLarge:
                return ApiProblem.MessageTooLarge.Result(
                    $"This payload decodes to more than {limit} bytes, the most one Kafka message carries.", "body", Limit(limit));
            case BodyOutcome.Empty:
                return ApiProblem.EmptyBody.Result("The payload is empty.", "body");
            case BodyOutcome.Undecodable:
                Log.Undecodable(logger, projectId, sessionId, seq, coding, read.Error);
                return ApiProblem.UndecodableBody.Result($"The body is not valid {coding} data: {read.Error}", "body");
        }

        using var body = read.Body!;
        var published = await publisher.PublishAsync(projectId, sessionId, seq, contentType, body.Memory, context.RequestAborted);
        switch (published)
        {
            case PublishResult.Delivered delivered:
                metrics.Accepted(body.Length);
                Log.Accepted(logger, projectId, sessionId, seq, body.Length, delivered.Partition, delivered.Offset);
                return TypedResults.Accepted(
                    $"/v1/sessions/{sessionId}/payloads/{seq.ToString(CultureInfo.InvariantCulture)}",
                    new PayloadAccepted(sessionId, seq, body.Length, delivered.Partition, delivered.Offset));
            case PublishResult.TooLarge tooLarge:
                Log.TooLargeForOneMessage(logger, projectId, sessionId, seq, tooLarge.MessageBytes, tooLarge.Limit);
                return ApiProblem.MessageTooLarge.Result(
                    $"As one Kafka message this payload takes {tooLarge.MessageBytes} bytes; the current single-message limit is " +
                    $"{tooLarge.Limit} bytes (Kafka:message.max.bytes).",
                    "body",
                    Limit(tooLarge.Limit));
            case PublishResult.Unavailable unavailable:
                context.Response.Headers.RetryAfter = api.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return ApiProblem.BrokerUnavailable.Result(
                    $"Kafka did not acknowledge the payload ({unavailable.Reason}). It may or may not be stored: retry the same seq.");
            default:
                throw new InvalidOperationException($"Unexpected publish result {published}.");
        }
    }

    private static KeyValuePair<string, object?>[] Limit(long bytes) => [new("limit", bytes)];
}
