namespace Ingest.Api.Payloads;

/// <summary>Payload ingest log messages (event ids 1100-1199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Accepted {ProjectId}/{SessionId} seq {Seq}: {Bytes} bytes in {Chunks} chunks, last at {Partition}@{Offset}")]
    public static partial void Accepted(ILogger logger, string projectId, string sessionId, long seq, long bytes, int chunks, int partition, long offset);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Kafka did not take {ProjectId}/{SessionId} seq {Seq}: {Reason}")]
    public static partial void ProduceFailed(ILogger logger, string projectId, string sessionId, long seq, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Kafka refused a chunk of {ProjectId}/{SessionId} seq {Seq} ({MessageBytes} bytes) as too large: {Reason}")]
    public static partial void ChunkTooLarge(ILogger logger, string projectId, string sessionId, long seq, long messageBytes, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Body of {ProjectId}/{SessionId} seq {Seq} does not decode as {Coding}: {Error}")]
    public static partial void Undecodable(ILogger logger, string projectId, string sessionId, long seq, ContentCoding coding, string? error);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Client of {ProjectId}/{SessionId} seq {Seq} went away mid-upload; its last chunk was not produced")]
    public static partial void ClientDisconnected(ILogger logger, string projectId, string sessionId, long seq);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Body of {ProjectId}/{SessionId} seq {Seq} refused by Kestrel ({Status}): {Reason}")]
    public static partial void BadBody(ILogger logger, string projectId, string sessionId, long seq, int status, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Client of {ProjectId}/{SessionId} seq {Seq} sent nothing for {Timeout}; answered 408, its last chunk was not produced")]
    public static partial void Idle(ILogger logger, string projectId, string sessionId, long seq, TimeSpan timeout);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information,
        Message = "Upload {PayloadId} of {ProjectId}/{SessionId} seq {Seq} given up after {Chunks} chunk(s) ({Reason}): abort marker at {Partition}@{Offset}")]
    public static partial void UploadAborted(
        ILogger logger, string projectId, string sessionId, long seq, Guid payloadId, int chunks, string reason, int partition, long offset);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning,
        Message = "Abort marker of upload {PayloadId} of {ProjectId}/{SessionId} seq {Seq} ({Reason}) not produced: {Error}; the worker discards its chunks after Worker:AbandonedUploadAfter")]
    public static partial void AbortMarkerFailed(ILogger logger, string projectId, string sessionId, long seq, Guid payloadId, string reason, string? error);
}
