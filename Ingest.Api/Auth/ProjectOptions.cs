using Ingest.Api.Limits;

namespace Ingest.Api.Auth;

/// <summary>One project: its API keys and the browser origins allowed to post to it.</summary>
public sealed class ProjectOptions
{
    /// <summary><c>Ingest:Projects:{projectId}:Keys:{n}</c>.</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    /// <summary><c>Ingest:Projects:{projectId}:AllowedOrigins:{n}</c>, e.g. <c>https://app.example.com</c>.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary><c>Ingest:Projects:{projectId}:Limits</c>: what differs from <c>Api:ProjectLimits</c> for this project.</summary>
    public UploadLimitOptions? Limits { get; set; }

    /// <summary><c>Ingest:Projects:{projectId}:WriteTokens</c>: whether posts must carry a session write token.</summary>
    public WriteTokenOptions WriteTokens { get; set; } = new();
}

/// <summary>
/// Session write tokens (<see cref="Contracts.Tokens.SessionWriteToken"/>): when <see cref="Required"/>, every post to a
/// session of the project must carry a token its site's backend minted for that session with one of <see cref="Secrets"/>.
/// The secrets are never logged nor repeated in validation messages.
/// </summary>
public sealed class WriteTokenOptions
{
    /// <summary><c>…:WriteTokens:Required</c>: refuse (403) posts without a valid token. Default false.</summary>
    public bool Required { get; set; }

    /// <summary>
    /// <c>…:WriteTokens:Secrets:{n}</c>: the HMAC secrets (at least 32 characters each); a token signed with any of them is
    /// accepted, so a new secret is added first, sites switch to it, then the old one is removed.
    /// </summary>
    public List<string> Secrets { get; set; } = [];

    /// <summary><c>…:WriteTokens:MaxLifetime</c>: a token expiring further ahead than this is refused. Default 1 day.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary><c>…:WriteTokens:ClockSkew</c>: how far the minting backend's clock may be off. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>One API key, configured by its hash only: the key itself never appears in configuration.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>Hex SHA-256 of the UTF-8 key (64 hex digits, either case).</summary>
    public string? Sha256 { get; set; }

    /// <summary>
    /// Comma-separated scopes: <c>ingest</c> (post payloads), <c>read</c> (read sessions back), <c>erase</c> (erase sessions),
    /// e.g. <c>ingest,read</c> or <c>read,erase</c>.
    /// </summary>
    public string? Scopes { get; set; }

    /// <summary>
    /// <c>Ingest:Projects:{projectId}:Keys:{n}:Limits</c>: limits of this key's uploads within its project's, e.g. a
    /// public browser key held below the project's server-side key. Unset: only the project's limits.
    /// </summary>
    public UploadLimitOptions? Limits { get; set; }
}
