namespace Ingest.Api.Backpressure;

/// <summary>Backlog guard log messages (event ids 1400-1499).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Backlog guard on for {Topic} ({Partitions} partitions, group {Group}): at most {Bytes} bytes / {Messages} messages accepted and not yet committed per partition, {Share:P0} of what it keeps ({Source})")]
    public static partial void GuardOn(ILogger logger, string topic, long bytes, long messages, double share, string source, int partitions, string group);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Backlog guard off for {Topic}: {Source}")]
    public static partial void GuardOff(ILogger logger, string topic, string source);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Backlog guard cannot read the progress of {Topic} ({Reason}); it keeps its last view, which only errs towards refusing")]
    public static partial void ProgressUnreadable(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Backlog guard reads the progress of {Topic} again")]
    public static partial void ProgressReadable(ILogger logger, string topic);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Partition {Partition} of {Topic} has been nearly full for 5 s: {Bytes} bytes in {Messages} messages accepted and not yet committed by group {Group} (limit {Limit} bytes); new payloads for its sessions get 503 until the workers catch up")]
    public static partial void PartitionFull(ILogger logger, int partition, string topic, long bytes, long messages, string group, long limit);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Partition {Partition} of {Topic} has room again: {Bytes} bytes not yet committed")]
    public static partial void PartitionHasRoom(ILogger logger, int partition, string topic, long bytes);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning, Message = "What {Topic} keeps per partition is unknown ({Source}); the backlog guard holds each partition to {Limit} bytes until it knows (the previous limit, or as if the topic kept what the embedded broker keeps) and asks again in 2 s")]
    public static partial void RetentionUnknown(ILogger logger, string topic, string source, long limit);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Warning, Message = "Group {Group} has committed nothing on partition {Partition} of {Topic}: no worker has stored anything from it yet, or the workers run in another group (Worker:GroupId; the API reads the same key, or Api:WorkerGroupId)")]
    public static partial void GroupCommittedNothing(ILogger logger, string group, string topic, int partition);
}
