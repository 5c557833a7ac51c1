namespace Ingest.Worker.Durability;

/// <summary>Start-up durability check log messages, event ids 2400–2499.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Critical, Message = "Worker {Message}")]
    public static partial void Refused(ILogger logger, string message);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "Payload topic durability: {Message}")]
    public static partial void Warning(ILogger logger, string message);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Warning,
        Message = "Cannot check the durability settings of topic {Topic}: {Reason}. Starting without the check ({ElapsedMs:0} ms)")]
    public static partial void CannotCheck(ILogger logger, string topic, string reason, double elapsedMs);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Information,
        Message = "Topic {Topic} durability settings checked (replication factor {ReplicationFactor}) in {ElapsedMs:0} ms")]
    public static partial void Checked(ILogger logger, string topic, int replicationFactor, double elapsedMs);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Warning,
        Message = "Worker:CheckTopicDurability=false: the settings of topic {Topic} are not checked")]
    public static partial void Disabled(ILogger logger, string topic);
}
