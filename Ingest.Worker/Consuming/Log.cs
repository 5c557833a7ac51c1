namespace Ingest.Worker.Consuming;

/// <summary>Consuming log messages, event ids 2100–2199.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Subscribed to {Topic} as group {GroupId}")]
    public static partial void Subscribed(ILogger logger, string topic, string groupId);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Assigned partitions [{Partitions}]; {Count} lanes now")]
    public static partial void Assigned(ILogger logger, string partitions, int count);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Revoked partitions [{Partitions}]; draining {Count} lanes")]
    public static partial void Revoked(ILogger logger, string partitions, int count);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Lost partitions [{Partitions}]; their work is cancelled and not committed")]
    public static partial void Lost(ILogger logger, string partitions);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "Drained {Count} lanes in {Elapsed}")]
    public static partial void Drained(ILogger logger, int count, TimeSpan elapsed);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning,
        Message = "Lanes did not drain within {Timeout}; cancelling {Running} of them (their messages will be redelivered)")]
    public static partial void DrainTimedOut(ILogger logger, TimeSpan timeout, int running);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Debug, Message = "Committed {Offsets}")]
    public static partial void Committed(ILogger logger, string offsets);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Offset commit failed (retried next interval): {Error}")]
    public static partial void CommitFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Debug, Message = "Paused {Topic}/{Partition}: its lane is full")]
    public static partial void Paused(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Debug, Message = "Resumed {Topic}/{Partition}")]
    public static partial void Resumed(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "Consume error {Code}: {Reason}")]
    public static partial void ConsumeError(ILogger logger, string code, string reason);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "Message {Topic}/{Partition}@{Offset} for a partition without a lane; ignored")]
    public static partial void NoLane(ILogger logger, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Information, Message = "Stopping: draining {Count} lanes, committing, leaving the group")]
    public static partial void ShuttingDown(ILogger logger, int count);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "Consumer closed")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "Consumer close failed")]
    public static partial void CloseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Critical, Message = "Lane {Topic}/{Partition} failed; stopping the worker")]
    public static partial void LaneFaulted(ILogger logger, string topic, int partition, Exception exception);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Warning, Message = "Resume of partition {Partition} failed: {Error}")]
    public static partial void ResumeFailed(ILogger logger, int partition, string error);

    [LoggerMessage(EventId = 2120, Level = LogLevel.Warning,
        Message = "Batch of {Count} on {Topic}/{Partition} has a payload the database refuses; storing one by one: {Error}")]
    public static partial void IsolatingDataError(ILogger logger, string topic, int partition, int count, string error);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Warning,
        Message = "Conflicting duplicate: {Project}/{SessionId} seq {Seq} is already stored with other bytes; payload {PayloadId} at {Partition}@{Offset} was not stored")]
    public static partial void ConflictingDuplicate(ILogger logger, string project, string sessionId, long seq, Guid payloadId, int partition, long offset);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Error,
        Message = "Chunked payload refused: {Project}/{SessionId} seq {Seq} payload {PayloadId} at {Partition}@{Offset}: {Error}; dead-lettering a reference")]
    public static partial void ChunkedPayloadRefused(ILogger logger, string project, string sessionId, long seq, Guid payloadId, int partition, long offset, string error);

    [LoggerMessage(EventId = 2123, Level = LogLevel.Error,
        Message = "DATA LOSS: {Project}/{SessionId} seq {Seq} payload {PayloadId} at {Partition}@{Offset} cannot be reassembled: {Error}")]
    public static partial void ChunkGap(ILogger logger, string project, string sessionId, long seq, Guid payloadId, int partition, long offset, string error);

    [LoggerMessage(EventId = 2124, Level = LogLevel.Warning,
        Message = "Discarded upload {PayloadId} on {Topic}/{Partition}: no chunk for {After} of log time and no last chunk (the API never accepted it)")]
    public static partial void UploadAbandoned(ILogger logger, Guid payloadId, string topic, int partition, TimeSpan after);

    [LoggerMessage(EventId = 2125, Level = LogLevel.Warning, Message = "Paused {Topic}/{Partition}: the database is unavailable; nothing new is fetched or committed until it is back")]
    public static partial void PausedForDatabase(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 2126, Level = LogLevel.Warning,
        Message = "The broker refuses group.instance.id {InstanceId}: its previous instance has not left and its session has not expired yet (a crash); joining again in {Retry}")]
    public static partial void InstanceIdUnreleased(ILogger logger, string instanceId, TimeSpan retry);

    [LoggerMessage(EventId = 2127, Level = LogLevel.Information,
        Message = "Upload {PayloadId} of {Project}/{SessionId} seq {Seq} aborted by the API (marker at {Partition}@{Offset}): {Detail}")]
    public static partial void UploadAborted(ILogger logger, string project, string sessionId, long seq, Guid payloadId, int partition, long offset, string detail);
}
