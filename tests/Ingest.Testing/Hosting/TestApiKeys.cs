using System.Security.Cryptography;
using System.Text;

namespace Ingest.Testing.Hosting;

/// <summary>
/// The API keys tests configure: project p1 with a read+ingest, a read-only, an ingest-only and a read+erase key, and
/// project p2 with one key, to check scopes and isolation. Only their SHA-256 reaches configuration.
/// </summary>
public static class TestApiKeys
{
    public const string Project = "p1";
    public const string OtherProject = "p2";
    public const string IngestReadKey = "p1-ingest-read-key";
    public const string ReadOnlyKey = "p1-read-only-key";
    public const string IngestOnlyKey = "p1-ingest-only-key";
    public const string OtherProjectKey = "p2-ingest-read-key";
    public const string ReadEraseKey = "p1-read-erase-key";

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary><c>--Ingest:Projects:{p}:Keys:{n}:Sha256/Scopes</c> arguments for the keys above.</summary>
    public static IEnumerable<string> ConfigurationArgs()
    {
        (string Project, string Key, string Scopes)[] keys =
        [
            (Project, IngestReadKey, "ingest,read"),
            (Project, ReadOnlyKey, "read"),
            (Project, IngestOnlyKey, "ingest"),
            (Project, ReadEraseKey, "read,erase"),
            (OtherProject, OtherProjectKey, "ingest,read"),
        ];
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (project, key, scopes) in keys)
        {
            var n = index[project] = index.GetValueOrDefault(project, -1) + 1;
            yield return $"--Ingest:Projects:{project}:Keys:{n}:Sha256={Sha256Hex(key)}";
            yield return $"--Ingest:Projects:{project}:Keys:{n}:Scopes={scopes}";
        }
    }
}
