namespace Ingest.Worker.DeadLetter;

/// <summary>Dead-letter log messages, event ids 2200–2299.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Warning,
        Message = "Dead-lettered {Topic}/{Partition}@{Offset} to {DeadLetter}: {Error}")]
    public static partial void DeadLettered(ILogger logger, string topic, int partition, long offset, string deadLetter, string error);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning,
        Message = "Dead-letter send failed, retry {Attempt} in {Delay}: {Error}")]
    public static partial void SendRetry(ILogger logger, int attempt, TimeSpan delay, string error);
}
