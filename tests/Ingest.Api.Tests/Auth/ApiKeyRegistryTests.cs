using System.Security.Cryptography;
using System.Text;
using Ingest.Api.Auth;

namespace Ingest.Api.Tests.Auth;

public sealed class ApiKeyRegistryTests
{
    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static IngestOptions Options(params (string Project, string Key, string Scopes)[] keys)
    {
        var options = new IngestOptions();
        foreach (var (project, key, scopes) in keys)
        {
            if (!options.Projects.TryGetValue(project, out var entry))
            {
                options.Projects[project] = entry = new ProjectOptions();
            }

            entry.Keys.Add(new ApiKeyOptions { Sha256 = Hash(key), Scopes = scopes });
        }

        return options;
    }

    [Fact]
    public void Find_known_key_gives_its_project_and_scopes()
    {
        var registry = new ApiKeyRegistry(Options(("p1", "alpha", "ingest"), ("p1", "beta", "ingest,read"), ("p2", "gamma", "read")));

        Assert.Equal(new ApiKeyMatch("p1", ApiScopes.Ingest, "p1/0"), registry.Find("alpha"));
        Assert.Equal(new ApiKeyMatch("p1", ApiScopes.Ingest | ApiScopes.Read, "p1/1"), registry.Find("beta"));
        Assert.Equal(new ApiKeyMatch("p2", ApiScopes.Read, "p2/0"), registry.Find("gamma"));
    }

    [Fact]
    public void Find_unknown_or_near_miss_key_gives_null()
    {
        var registry = new ApiKeyRegistry(Options(("p1", "alpha", "ingest")));

        Assert.Null(registry.Find("alph"));
        Assert.Null(registry.Find("alpha "));
        Assert.Null(registry.Find("ALPHA"));
        Assert.Null(registry.Find(""));
    }

    [Fact]
    public void Find_by_hash_accepts_upper_case_configured_hex_and_matches_the_last_entry_too()
    {
        var options = Options(("p1", "k0", "read"), ("p1", "k1", "read"), ("p2", "k2", "ingest"));
        options.Projects["p2"].Keys[0].Sha256 = Hash("k2").ToUpperInvariant();
        var registry = new ApiKeyRegistry(options);

        // The hit is the last entry: the loop must not stop at the first non-matching prefix.
        Assert.Equal(new ApiKeyMatch("p2", ApiScopes.Ingest, "p2/0"), registry.Find(SHA256.HashData("k2"u8)));
        Assert.Equal(3, registry.Count);
    }

    [Fact]
    public void Hash_differing_only_in_its_last_byte_does_not_match()
    {
        var registry = new ApiKeyRegistry(Options(("p1", "alpha", "ingest")));
        var nearly = SHA256.HashData("alpha"u8);
        nearly[^1] ^= 1;

        Assert.Null(registry.Find(nearly));
    }

    [Fact]
    public void Origins_are_checked_per_project_after_normalisation()
    {
        var options = Options(("p1", "a", "ingest"), ("p2", "b", "ingest"));
        options.Projects["p1"].AllowedOrigins.Add("https://App.Example.com:443/");
        var registry = new ApiKeyRegistry(options);

        Assert.True(registry.IsOriginAllowed("p1", "https://app.example.com"));
        Assert.False(registry.IsOriginAllowed("p2", "https://app.example.com"));
        Assert.False(registry.IsOriginAllowed("p1", "http://app.example.com"));
        Assert.True(registry.IsOriginAllowedForAnyProject("https://app.example.com"));
        Assert.False(registry.IsOriginAllowedForAnyProject("https://evil.example.com"));
    }
}
