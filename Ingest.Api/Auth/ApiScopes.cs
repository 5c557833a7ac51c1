namespace Ingest.Api.Auth;

/// <summary>What an API key may do.</summary>
[Flags]
public enum ApiScopes
{
    None = 0,

    /// <summary>Post payloads (<c>ingest</c>).</summary>
    Ingest = 1,

    /// <summary>Read stored sessions and payloads (<c>read</c>).</summary>
    Read = 2,

    /// <summary>Erase sessions (<c>erase</c>): <c>DELETE /v1/sessions/{sessionId}</c>.</summary>
    Erase = 4,
}

/// <summary>Scope names as they appear in configuration, claims and authorization policies.</summary>
public static class ApiScope
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Erase = "erase";

    /// <summary>How start-up messages name the valid values of a key's <c>Scopes</c>.</summary>
    public const string Usage = $"a comma-separated list of {Ingest}, {Read} and {Erase} (e.g. {Ingest},{Read})";

    /// <summary>
    /// Parses a comma-separated scope list (<c>ingest</c>, <c>read</c>, <c>erase</c>, <c>ingest,read</c>, <c>read,erase</c> …; spaces around
    /// names are ignored). Fails on an empty list or an unknown name, which is returned in <paramref name="unknown"/>.
    /// </summary>
    public static bool TryParse(string? text, out ApiScopes scopes, out string? unknown)
    {
        scopes = ApiScopes.None;
        unknown = null;
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.TrimEntries))
        {
            switch (part)
            {
                case Ingest:
                    scopes |= ApiScopes.Ingest;
                    break;
                case Read:
                    scopes |= ApiScopes.Read;
                    break;
                case Erase:
                    scopes |= ApiScopes.Erase;
                    break;
                default:
                    unknown = part;
                    scopes = ApiScopes.None;
                    return false;
            }
        }

        return scopes != ApiScopes.None;
    }

    /// <summary>The scope names in <paramref name="scopes"/>.</summary>
    public static IEnumerable<string> Names(ApiScopes scopes)
    {
        if (scopes.HasFlag(ApiScopes.Ingest))
        {
            yield return Ingest;
        }

        if (scopes.HasFlag(ApiScopes.Read))
        {
            yield return Read;
        }

        if (scopes.HasFlag(ApiScopes.Erase))
        {
            yield return Erase;
        }
    }
}
