using Ingest.Contracts;

namespace Ingest.Api.Auth;

/// <summary>The <c>Ingest</c> configuration section: the payload topic and the projects with their keys.</summary>
public sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>Payload topic. Default <see cref="IngestTopics.Payloads"/>.</summary>
    public string Topic { get; set; } = IngestTopics.Payloads;

    /// <summary>Projects by id (<c>Ingest:Projects:{projectId}</c>).</summary>
    public Dictionary<string, ProjectOptions> Projects { get; set; } = new(StringComparer.Ordinal);
}
