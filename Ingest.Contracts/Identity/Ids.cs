using System.Buffers;
using System.Globalization;

namespace Ingest.Contracts.Identity;

/// <summary>Validation of the identifiers that reach Kafka keys, headers and the store.</summary>
public static class Ids
{
    /// <summary>Longest session id accepted (CONTRACT.md: <c>^[A-Za-z0-9_-]{1,128}$</c>).</summary>
    public const int MaxSessionIdLength = 128;

    /// <summary>Longest project id accepted; project ids follow the session id alphabet.</summary>
    public const int MaxProjectIdLength = 64;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    /// <summary>True when <paramref name="sessionId"/> matches <c>^[A-Za-z0-9_-]{1,128}$</c>.</summary>
    public static bool IsValidSessionId(ReadOnlySpan<char> sessionId) => IsValid(sessionId, MaxSessionIdLength);

    /// <summary>True when <paramref name="projectId"/> matches <c>^[A-Za-z0-9_-]{1,64}$</c>.</summary>
    public static bool IsValidProjectId(ReadOnlySpan<char> projectId) => IsValid(projectId, MaxProjectIdLength);

    /// <summary>
    /// Parses a client-chosen sequence number: a plain decimal integer in 0 … 2^63−1
    /// (no sign, no spaces, no exponent).
    /// </summary>
    public static bool TryParseSeq(ReadOnlySpan<char> text, out long seq)
    {
        seq = 0;
        if (text.IsEmpty || text.Length > 19 || !char.IsAsciiDigit(text[0]))
        {
            return false;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seq);
    }

    private static bool IsValid(ReadOnlySpan<char> id, int maxLength) =>
        id.Length is > 0 && id.Length <= maxLength && !id.ContainsAnyExcept(Allowed);
}
