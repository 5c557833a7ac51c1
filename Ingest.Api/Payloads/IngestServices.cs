using Ingest.Api.Limits;
using Ingest.Api.Telemetry;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>What the ingest endpoint works with, bound per request (<c>[AsParameters]</c>): the request and its services.</summary>
public sealed record IngestServices(
    HttpContext Context,
    PayloadPublisher Publisher,
    UploadLimiter Limiter,
    ShutdownDeadline Shutdown,
    IOptions<ApiOptions> Api,
    ApiMetrics Metrics,
    TimeProvider Time,
    ILogger<PayloadPublisher> Logger);
