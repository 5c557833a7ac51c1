namespace Ingest.Storage.Schema;

/// <summary>Schema log messages, event ids 2000–2099 (2001 is SchemaMigrator's; 2010–2011 are the batch writer's).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning,
        Message = "Database not ready for migrations, retry {Attempt} in {Delay}: {Error}")]
    public static partial void MigrationRetry(ILogger logger, int attempt, TimeSpan delay, string error);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Information, Message = "Schema up to date ({Applied} migrations applied now)")]
    public static partial void SchemaReady(ILogger logger, int applied);
}
