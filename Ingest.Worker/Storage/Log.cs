namespace Ingest.Worker.Storage;

/// <summary>Storage log messages, event ids 2000–2099 (2001 is SchemaMigrator's).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning,
        Message = "Database write failed transiently, retry {Attempt} in {Delay}: {Error}")]
    public static partial void WriteRetry(ILogger logger, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error,
        Message = "Database write refused (needs an operator; nothing is committed until it succeeds), retry {Attempt} in {Delay}")]
    public static partial void WriteRetryPersistent(ILogger logger, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning,
        Message = "Database not ready for migrations, retry {Attempt} in {Delay}: {Error}")]
    public static partial void MigrationRetry(ILogger logger, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Information, Message = "Schema up to date ({Applied} migrations applied now)")]
    public static partial void SchemaReady(ILogger logger, int applied);
}
