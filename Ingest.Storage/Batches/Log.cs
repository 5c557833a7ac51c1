namespace Ingest.Storage.Batches;

/// <summary>Batch write log messages, event ids 2000–2099 (2001, 2012–2013 are the schema's).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning,
        Message = "Database write failed transiently, retry {Attempt} in {Delay}: {Error}")]
    public static partial void WriteRetry(ILogger logger, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error,
        Message = "Database write refused (needs an operator; nothing is committed until it succeeds), retry {Attempt} in {Delay}")]
    public static partial void WriteRetryPersistent(ILogger logger, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning,
        Message = "A payload taken for new was already stored ({Error}); the batch is written again with every row checked")]
    public static partial void UnseenRowConflict(ILogger logger, string error);
}
