namespace Ingest.Api.Status;

/// <summary>Status page log messages (event ids 1500-1599).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "The status page cannot read the progress of {Topic} ({Reason}); /status/data serves its last snapshot, marked with its age and this error")]
    public static partial void StatusUnreadable(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "The status page reads the progress of {Topic} again")]
    public static partial void StatusReadable(ILogger logger, string topic);
}
