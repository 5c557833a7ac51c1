namespace Ingest.Api.Lifecycle;

/// <summary>Session erasure log messages (event ids 1600-1699).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1600, Level = LogLevel.Information,
        Message = "Session {SessionId} of project {ProjectId} erased (first erasure: {First}; it had stored data: {HadData})")]
    public static partial void SessionErased(ILogger logger, string projectId, string sessionId, bool first, bool hadData);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Debug, Message = "Post to erased session {SessionId} of project {ProjectId} refused (410)")]
    public static partial void PostToErasedSession(ILogger logger, string projectId, string sessionId);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "Listening for erasures; {Count} erasure tombstones loaded")]
    public static partial void Listening(ILogger logger, int count);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning,
        Message = "Erasure tombstones could not be loaded or listened for (attempt {Attempt}; retrying in {RetryIn}); posts to sessions " +
            "erased on other instances meanwhile are accepted here and dropped by the workers: {Reason}")]
    public static partial void ListenFailed(ILogger logger, int attempt, TimeSpan retryIn, string reason);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "Ignored a notification on {Channel} that names no project and session: '{Payload}'")]
    public static partial void BadNotification(ILogger logger, string channel, string payload);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Debug, Message = "Erasure tombstones reloaded: {Count}")]
    public static partial void Reloaded(ILogger logger, int count);
}
