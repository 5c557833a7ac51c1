using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ingest.Api.Payloads;

/// <summary>
/// Kestrel's limits, each set explicitly so the values are documented in one place (README of Ingest.Api).
/// Kestrel answers these itself, before any endpoint runs: 413 body too large, 431 headers too large,
/// 414 request line too long, 408 headers or body too slow.
/// </summary>
public static class KestrelLimits
{
    /// <summary>Header block: 32 KiB (Kestrel's default) → 431. A bearer key and the usual headers take &lt; 2 KiB.</summary>
    public const int MaxRequestHeadersTotalSize = 32 * 1024;

    /// <summary>Headers per request: 100 (default) → 431.</summary>
    public const int MaxRequestHeaderCount = 100;

    /// <summary>Request line: 8 KiB (default) → 414; the longest valid one (128-char session id, 19-digit seq) is ~200 bytes.</summary>
    public const int MaxRequestLineSize = 8 * 1024;

    /// <summary>All headers must arrive within 15 s (default 30 s) → 408: a slowloris holds a connection at most this long.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Idle keep-alive connections close after 120 s (default 130 s), beyond typical load-balancer idle timeouts (60 s).</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// A body must arrive at ≥ 1 KiB/s averaged after a 10 s grace → 408 (slowloris on the body). Kestrel pauses this
    /// clock while the app is not reading, so an upload waiting for in-flight budget is not timed out by it.
    /// 1 KiB/s still lets a 100 MiB upload over a poor mobile link (≥ 100 KiB/s) through.
    /// </summary>
    public static readonly MinDataRate MinRequestBodyDataRate = new(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(10));

    /// <summary>Readers of GET …/payloads/{seq} must take ≥ 1 KiB/s after a 10 s grace, or their connection is closed.</summary>
    public static readonly MinDataRate MinResponseDataRate = new(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(10));

    /// <summary>Time left after <c>Api:ShutdownTimeout</c> for the producer's final flush (ProducerLifetime caps it at 10 s).</summary>
    public static readonly TimeSpan ProducerFlushAllowance = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Raw body limit: <c>Api:MaxPayloadBytes</c> plus the slack a compressed encoding of incompressible data adds
    /// (gzip/LZ4 framing ≤ 1/128 + 64 KiB). The decoded limit itself is enforced while decoding (413 either way).
    /// </summary>
    public static long MaxRequestBodySize(long maxPayloadBytes) => maxPayloadBytes + (maxPayloadBytes / 128) + (64 * 1024);

    public static void Apply(KestrelServerLimits limits, ApiOptions api)
    {
        if (api.MaxPayloadBytes is > 0 and <= ApiOptionsValidator.MaxPayloadBytesCeiling)
        {
            limits.MaxRequestBodySize = MaxRequestBodySize(api.MaxPayloadBytes);
        }

        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalSize;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.MaxRequestLineSize = MaxRequestLineSize;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.KeepAliveTimeout = KeepAliveTimeout;
        limits.MinRequestBodyDataRate = MinRequestBodyDataRate;
        limits.MinResponseDataRate = MinResponseDataRate;
    }
}
