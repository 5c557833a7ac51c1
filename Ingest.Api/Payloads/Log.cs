namespace Ingest.Api.Payloads;

/// <summary>Payload ingest log messages (event ids 1100-1199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Accepted {ProjectId}/{SessionId} seq {Seq}: {Bytes} bytes at {Partition}@{Offset}")]
    public static partial void Accepted(ILogger logger, string projectId, string sessionId, long seq, int bytes, int partition, long offset);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Kafka did not take {ProjectId}/{SessionId} seq {Seq}: {Reason}")]
    public static partial void ProduceFailed(ILogger logger, string projectId, string sessionId, long seq, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Refused {ProjectId}/{SessionId} seq {Seq}: {MessageBytes} bytes as one message exceed {Limit}")]
    public static partial void TooLargeForOneMessage(ILogger logger, string projectId, string sessionId, long seq, long messageBytes, long limit);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Body of {ProjectId}/{SessionId} seq {Seq} does not decode as {Coding}: {Error}")]
    public static partial void Undecodable(ILogger logger, string projectId, string sessionId, long seq, ContentCoding coding, string? error);
}
