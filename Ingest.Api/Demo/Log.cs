namespace Ingest.Api.Demo;

/// <summary>Demo page log messages (event ids 1900-1999).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1900, Level = LogLevel.Warning,
        Message = "The demo page is enabled (Api:Demo:Enabled): /demo publishes an ingest key of project {ProjectId} to everyone who opens it; for development stacks only")]
    public static partial void DemoEnabled(ILogger logger, string projectId);
}
