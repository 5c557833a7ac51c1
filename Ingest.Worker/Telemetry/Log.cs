namespace Ingest.Worker.Telemetry;

/// <summary>Kafka client log messages, event ids 2300–2399.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2300, Message = "Kafka client {Client} error {Code}: {Reason}")]
    public static partial void KafkaError(ILogger logger, LogLevel level, string client, string code, string reason);

    [LoggerMessage(EventId = 2301, Message = "librdkafka {Client} [{Facility}] {Message}")]
    public static partial void KafkaLog(ILogger logger, LogLevel level, string client, string facility, string message);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Debug, Message = "librdkafka {Client} statistics {Statistics}")]
    public static partial void KafkaStatistics(ILogger logger, string client, string statistics);
}
