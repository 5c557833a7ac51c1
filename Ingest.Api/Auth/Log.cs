namespace Ingest.Api.Auth;

/// <summary>Authentication and authorization log messages (event ids 1000-1099). Keys and write token secrets never appear in them, nor do tokens.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Unknown API key presented for {Path}")]
    public static partial void UnknownKey(ILogger logger, PathString path);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Malformed Authorization header (not 'Bearer <key>') for {Path}")]
    public static partial void MalformedAuthorization(ILogger logger, PathString path);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Key of project {ProjectId} lacks scope {Scope} for {Path}")]
    public static partial void MissingScope(ILogger logger, string projectId, string scope, PathString path);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Project {ProjectId} does not allow origin {Origin}")]
    public static partial void OriginRefused(ILogger logger, string projectId, string origin);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Post to session {SessionId} of project {ProjectId} refused: {Reason}")]
    public static partial void SessionTokenRefused(ILogger logger, string projectId, string sessionId, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{Count} API keys configured for {Projects} projects")]
    public static partial void KeysLoaded(ILogger logger, int count, int projects);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "No API keys are configured (Ingest:Projects:<project>:Keys:<n>:Sha256 and :Scopes): every ingest and read request will be refused with 401")]
    public static partial void NoKeys(ILogger logger);
}
