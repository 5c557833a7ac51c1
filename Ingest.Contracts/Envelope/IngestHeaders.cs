namespace Ingest.Contracts.Envelope;

/// <summary>
/// Kafka header names of the payload envelope. Values are UTF-8 text so that any tool
/// (kafka-ui, kcat) shows them readably; the message value carries only the encoded payload.
/// </summary>
public static class IngestHeaders
{
    /// <summary>Envelope version; a consumer refuses versions it does not know.</summary>
    public const string Version = "ingest-v";
    public const string Project = "ingest-project";
    public const string Session = "ingest-session";
    public const string Seq = "ingest-seq";
    public const string ContentType = "ingest-content-type";
    /// <summary>Codec of the message value, see <see cref="Codec.PayloadCodec.Name"/>.</summary>
    public const string Encoding = "ingest-encoding";
    /// <summary>When the API received the request, Unix milliseconds (UTC).</summary>
    public const string ReceivedAt = "ingest-received-at";
    /// <summary>Unique id of one accepted upload; a retried upload of the same seq gets a new one.</summary>
    public const string PayloadId = "ingest-payload-id";
    /// <summary>Decoded bytes of the payload so far (through this chunk); the whole length on the last chunk.</summary>
    public const string Length = "ingest-length";
    /// <summary>XxHash3 (64-bit, seed 0) of the decoded bytes so far, 16 lower-case hex digits; the whole payload's on the last chunk.</summary>
    public const string Checksum = "ingest-checksum";
    /// <summary>Index of the chunk within its payload, from 0 (see <see cref="Chunking.PayloadChunking"/>).</summary>
    public const string Chunk = "ingest-chunk";
    /// <summary><c>1</c> on the payload's last chunk, else <c>0</c>.</summary>
    public const string LastChunk = "ingest-chunk-last";
    /// <summary>
    /// <c>1</c> on an upload's abort marker (<see cref="Chunking.PayloadChunking"/>): the API gave the upload up, so its
    /// staged chunks can go at once. Absent on every other message.
    /// </summary>
    public const string Abort = "ingest-abort";
    /// <summary>W3C trace context (OpenTelemetry propagation).</summary>
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
}
