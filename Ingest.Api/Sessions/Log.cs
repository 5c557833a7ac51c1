namespace Ingest.Api.Sessions;

/// <summary>Read-back log messages (event ids 1300-1399).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Error, Message = "Stored payload {ProjectId}/{SessionId} seq {Seq} does not decode: {Error}")]
    public static partial void CorruptPayload(ILogger logger, string projectId, string sessionId, long seq, string error);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: the session store is unavailable ({Reason})")]
    public static partial void StoreUnavailable(ILogger logger, string method, PathString path, string reason);
}
