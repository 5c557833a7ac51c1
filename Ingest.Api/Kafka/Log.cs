namespace Ingest.Api.Kafka;

/// <summary>Kafka producer log messages (event ids 1200-1299).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Payload producer started for {BootstrapServers} (max message {MaxMessageBytes} bytes)")]
    public static partial void ProducerStarted(ILogger logger, string bootstrapServers, int maxMessageBytes);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Warning, Message = "Readiness changed to {IsReady}: {Reason}")]
    public static partial void ReadinessChanged(ILogger logger, bool isReady, string reason);
}
