namespace Ingest.Api.Kafka;

/// <summary>Kafka producer log messages (event ids 1200-1299).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Producer {Generation} started for {BootstrapServers} (max message {MaxMessageBytes} bytes)")]
    public static partial void ProducerStarted(ILogger logger, int generation, string bootstrapServers, int maxMessageBytes);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Critical, Message = "Fatal producer error {Code}: {Reason}; rebuilding the producer")]
    public static partial void FatalError(ILogger logger, Confluent.Kafka.ErrorCode code, string reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Producer rebuilt as generation {Generation} after a fatal error")]
    public static partial void Rebuilt(ILogger logger, int generation);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Error, Message = "Rebuilding the producer failed; the API stays not ready")]
    public static partial void RebuildFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}")]
    public static partial void ClientError(ILogger logger, Confluent.Kafka.ErrorCode code, string reason);

    [LoggerMessage(EventId = 1205, Message = "librdkafka {Facility}: {Message}")]
    public static partial void Librdkafka(ILogger logger, LogLevel level, string facility, string message);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "{Count} messages still undelivered when the producer was closed after {Deadline}")]
    public static partial void FlushIncomplete(ILogger logger, int count, TimeSpan deadline);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Information, Message = "Producer flushed and closed")]
    public static partial void Closed(ILogger logger);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Warning, Message = "Readiness changed to {IsReady}: {Reason}")]
    public static partial void ReadinessChanged(ILogger logger, bool isReady, string reason);
}
