namespace Ingest.Api.Demo;

/// <summary>
/// <c>Api:Demo</c>: the development demo page (<c>GET /demo</c>), a small form that records itself into
/// <see cref="Project"/> with <see cref="IngestKey"/>. Off by default; when off nothing of it is mapped.
/// </summary>
public sealed class DemoOptions
{
    public const string Section = "Api:Demo";

    /// <summary><c>Api:Demo:Enabled</c>: serve <c>/demo</c>. Default false. For development stacks only.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// <c>Api:Demo:Project</c>: the project the page records into — one of <c>Ingest:Projects</c>, best one of its own,
    /// since anyone who can open the page can post to it. Its <c>AllowedOrigins</c> must list the origin the page is
    /// opened at (the API's own, e.g. <c>http://127.0.0.1:8080</c>).
    /// </summary>
    public string? Project { get; set; }

    /// <summary>
    /// <c>Api:Demo:IngestKey</c>: the key itself (the page needs it, as any recording page does), which must be a key of
    /// <see cref="Project"/> with the <c>ingest</c> scope only: it is published to everyone who opens the page.
    /// </summary>
    public string? IngestKey { get; set; }
}
