using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Auth;

/// <summary>
/// The project and scopes a presented API key stands for; <see cref="KeyId"/> (<c>{project}/{n}</c>, its place in
/// configuration, never the key) names it for per-key limits.
/// </summary>
public sealed record ApiKeyMatch(string ProjectId, ApiScopes Scopes, string KeyId);

/// <summary>
/// Configured API keys, held as SHA-256 hashes. A lookup hashes the presented key and compares it with
/// every configured hash in constant time, so neither the position of a match nor the length of a
/// common prefix shows in the response time.
/// </summary>
public sealed class ApiKeyRegistry
{
    private readonly Entry[] _entries;
    private readonly Dictionary<string, HashSet<string>> _originsByProject;
    private readonly HashSet<string> _allOrigins;

    public ApiKeyRegistry(IOptions<IngestOptions> options)
        : this(options.Value)
    {
    }

    public ApiKeyRegistry(IngestOptions options)
    {
        _entries =
        [
            .. options.Projects.SelectMany(project => project.Value.Keys.Select((key, n) => new Entry(
                Convert.FromHexString(key.Sha256!.Trim()),
                new ApiKeyMatch(project.Key, ParseScopes(key.Scopes), KeyIdOf(project.Key, n))))),
        ];
        _originsByProject = options.Projects.ToDictionary(
            project => project.Key,
            project => project.Value.AllowedOrigins.Select(ProjectOrigins.Normalize).OfType<string>().ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        _allOrigins = _originsByProject.Values.SelectMany(origins => origins).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Number of configured keys.</summary>
    public int Count => _entries.Length;

    /// <summary>Number of projects with at least one key.</summary>
    public int ProjectCount => _entries.Select(entry => entry.Match.ProjectId).Distinct(StringComparer.Ordinal).Count();

    /// <summary>The project and scopes of <paramref name="presentedKey"/>, or null for an unknown key.</summary>
    public ApiKeyMatch? Find(string presentedKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), hash);
        return Find(hash);
    }

    /// <summary>Looks up a key by its SHA-256, comparing with every entry (no early exit).</summary>
    public ApiKeyMatch? Find(ReadOnlySpan<byte> keyHash)
    {
        ApiKeyMatch? match = null;
        foreach (var entry in _entries)
        {
            // Not `return` on the first hit: the loop always runs over every entry.
            if (CryptographicOperations.FixedTimeEquals(keyHash, entry.Hash))
            {
                match = entry.Match;
            }
        }

        return match;
    }

    /// <summary>Whether a browser at <paramref name="origin"/> may post to <paramref name="projectId"/>.</summary>
    public bool IsOriginAllowed(string projectId, string origin) =>
        ProjectOrigins.Normalize(origin) is { } normalized
        && _originsByProject.TryGetValue(projectId, out var origins)
        && origins.Contains(normalized);

    /// <summary>
    /// Whether any project allows <paramref name="origin"/>. A CORS preflight carries no credentials, so
    /// it can only be checked against the union; the POST itself, and the CORS grant on its answer, are checked
    /// against the key's project (<see cref="ProjectCorsPolicyProvider"/>).
    /// </summary>
    public bool IsOriginAllowedForAnyProject(string origin) =>
        ProjectOrigins.Normalize(origin) is { } normalized && _allOrigins.Contains(normalized);

    /// <summary>The id of key <paramref name="index"/> of <paramref name="projectId"/>: <c>{project}/{n}</c>.</summary>
    public static string KeyIdOf(string projectId, int index) => $"{projectId}/{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    private static ApiScopes ParseScopes(string? text) =>
        ApiScope.TryParse(text, out var scopes, out _)
            ? scopes
            : throw new InvalidOperationException("Scopes are validated at start-up; this key's are invalid.");

    private sealed record Entry(byte[] Hash, ApiKeyMatch Match);
}
