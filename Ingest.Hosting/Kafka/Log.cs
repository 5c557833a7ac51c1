using Microsoft.Extensions.Logging;

namespace Ingest.Hosting.Kafka;

/// <summary>Kafka client log messages, event ids 3000–3099.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Message = "Kafka client {Client} error {Code}: {Reason}")]
    public static partial void KafkaError(ILogger logger, LogLevel level, string client, string code, string reason);

    [LoggerMessage(EventId = 3001, Message = "librdkafka {Client} [{Facility}] {Message}")]
    public static partial void KafkaLog(ILogger logger, LogLevel level, string client, string facility, string message);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "librdkafka {Client} statistics {Statistics}")]
    public static partial void KafkaStatistics(ILogger logger, string client, string statistics);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Producer {Client} generation {Generation} started for {BootstrapServers}")]
    public static partial void ProducerStarted(ILogger logger, string client, int generation, string? bootstrapServers);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Producer {Client} replaced by generation {Generation} after a fatal error")]
    public static partial void Replaced(ILogger logger, string client, int generation);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Error, Message = "Replacing producer {Client} failed; it stays unusable")]
    public static partial void ReplaceFailed(ILogger logger, string client, Exception exception);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "{Count} messages still undelivered when producer {Client} was closed after {Deadline}")]
    public static partial void FlushIncomplete(ILogger logger, int count, string client, TimeSpan deadline);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Information, Message = "Producer {Client} flushed and closed")]
    public static partial void Closed(ILogger logger, string client);
}
