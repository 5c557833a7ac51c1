using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ingest.Contracts.Identity;

namespace Ingest.Contracts.Tokens;

/// <summary>What a presented session write token is, checked against one project and session.</summary>
public enum SessionTokenStatus
{
    /// <summary>Signed for this project and session with one of the project's secrets, not expired, not too long-lived.</summary>
    Valid,

    /// <summary>No token was presented.</summary>
    Missing,

    /// <summary>Not <c>v1.&lt;expiry&gt;.&lt;mac&gt;</c> (or another version).</summary>
    Malformed,

    /// <summary>Well-formed, but its MAC is not that of this project and session with any current secret.</summary>
    Invalid,

    /// <summary>Genuine, but its expiry (plus the allowed clock skew) has passed.</summary>
    Expired,

    /// <summary>Genuine, but it expires further ahead than the project's maximum lifetime allows.</summary>
    TooLongLived,
}

/// <summary>
/// A short-lived permission to write to one session, minted by the site's own backend — like a pre-signed upload
/// URL — so that the public ingest key in a web page is not enough to write to somebody else's session.
/// </summary>
/// <remarks>
/// <para>Format: <c>v1.&lt;expiry&gt;.&lt;mac&gt;</c>, where expiry is Unix seconds (UTC, decimal) and mac is the
/// unpadded base64url of HMAC-SHA256, keyed with the UTF-8 bytes of a project secret, over the UTF-8 text
/// <c>v1\n{project}\n{sessionId}\n{expiry}</c> (ids cannot contain a line feed, so the fields cannot run into each
/// other). Example: <c>v1.1767225600.Xq3…</c> (43 characters of MAC).</para>
/// <para>The version is part of what is signed, so a token cannot be replayed as another version's. A project may
/// hold several secrets at once (rotation): a token signed with any of them verifies.</para>
/// </remarks>
public static class SessionWriteToken
{
    /// <summary>The only version this code writes and reads.</summary>
    public const string Version = "v1";

    /// <summary>Request header that carries the token.</summary>
    public const string Header = "X-Ingest-Session-Token";

    /// <summary>Query parameter that carries the token for clients that cannot set headers (<c>navigator.sendBeacon</c>).</summary>
    public const string QueryParameter = "token";

    /// <summary>Shortest secret accepted: 32 characters (e.g. <c>openssl rand -base64 32</c> gives 44).</summary>
    public const int MinSecretLength = 32;

    private const int MacBytes = 32; // HMAC-SHA256
    private const int MacChars = 43; // unpadded base64url of 32 bytes
    private const int MaxExpiryDigits = 19;

    /// <summary>The HMAC key of <paramref name="secret"/>: its UTF-8 bytes (what every snippet in the README does too).</summary>
    public static byte[] KeyOf(string secret) => Encoding.UTF8.GetBytes(secret);

    /// <summary>A token for <paramref name="sessionId"/> of <paramref name="projectId"/>, valid until <paramref name="expiresAt"/>.</summary>
    /// <exception cref="ArgumentException">An id is invalid, the secret shorter than <see cref="MinSecretLength"/>, or the expiry before 1970.</exception>
    public static string Mint(string secret, string projectId, string sessionId, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < MinSecretLength)
        {
            throw new ArgumentException($"A session token secret must have at least {MinSecretLength} characters.", nameof(secret));
        }

        if (!Ids.IsValidProjectId(projectId))
        {
            throw new ArgumentException("Not a valid project id (^[A-Za-z0-9_-]{1,64}$).", nameof(projectId));
        }

        if (!Ids.IsValidSessionId(sessionId))
        {
            throw new ArgumentException("Not a valid session id (^[A-Za-z0-9_-]{1,128}$).", nameof(sessionId));
        }

        var expiry = expiresAt.ToUnixTimeSeconds();
        if (expiry < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expiresAt), "A token cannot expire before 1970.");
        }

        Span<byte> mac = stackalloc byte[MacBytes];
        Sign(KeyOf(secret), projectId, sessionId, expiry, mac);
        return $"{Version}.{expiry.ToString(CultureInfo.InvariantCulture)}.{Base64Url.EncodeToString(mac)}";
    }

    /// <summary>
    /// Checks <paramref name="token"/> for <paramref name="sessionId"/> of <paramref name="projectId"/>: its form, then its MAC
    /// against every key of <paramref name="keys"/> (in constant time, always all of them), then its expiry. Only a genuine
    /// token is reported <see cref="SessionTokenStatus.Expired"/> or <see cref="SessionTokenStatus.TooLongLived"/>.
    /// </summary>
    /// <param name="token">The presented token, or null.</param>
    /// <param name="projectId">The project of the API key that posts.</param>
    /// <param name="sessionId">The session posted to.</param>
    /// <param name="keys">The project's secrets as <see cref="KeyOf"/> gives them.</param>
    /// <param name="now">The current time.</param>
    /// <param name="clockSkew">How far the minting backend's clock may be from ours.</param>
    /// <param name="maxLifetime">The furthest ahead of <paramref name="now"/> a token may expire.</param>
    /// <param name="expiresAt">The token's expiry when it could be read, else null.</param>
    public static SessionTokenStatus Verify(
        string? token,
        string projectId,
        string sessionId,
        IReadOnlyList<byte[]> keys,
        DateTimeOffset now,
        TimeSpan clockSkew,
        TimeSpan maxLifetime,
        out DateTimeOffset? expiresAt)
    {
        expiresAt = null;
        if (string.IsNullOrEmpty(token))
        {
            return SessionTokenStatus.Missing;
        }

        Span<byte> presented = stackalloc byte[MacBytes];
        if (!TryParse(token, out var expiry, presented))
        {
            return SessionTokenStatus.Malformed;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        var genuine = false;
        foreach (var key in keys)
        {
            Sign(key, projectId, sessionId, expiry, expected);
            // No early exit: which secret matched, or whether any did, does not show in the time taken.
            genuine |= CryptographicOperations.FixedTimeEquals(presented, expected);
        }

        if (!genuine)
        {
            return SessionTokenStatus.Invalid;
        }

        expiresAt = DateTimeOffset.FromUnixTimeSeconds(Math.Min(expiry, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        if (now > expiresAt.Value + clockSkew)
        {
            return SessionTokenStatus.Expired;
        }

        return expiresAt.Value - now > maxLifetime + clockSkew ? SessionTokenStatus.TooLongLived : SessionTokenStatus.Valid;
    }

    /// <summary>Reads <c>v1.&lt;expiry&gt;.&lt;mac&gt;</c>; false for anything else (another version included).</summary>
    private static bool TryParse(string token, out long expiry, Span<byte> mac)
    {
        expiry = 0;
        var text = token.AsSpan();
        if (!text.StartsWith(Version + ".", StringComparison.Ordinal))
        {
            return false;
        }

        text = text[(Version.Length + 1)..];
        var dot = text.IndexOf('.');
        if (dot is <= 0 or > MaxExpiryDigits
            || !long.TryParse(text[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out expiry))
        {
            return false;
        }

        var encoded = text[(dot + 1)..];
        return encoded.Length == MacChars
            && Base64Url.IsValid(encoded)
            && Base64Url.TryDecodeFromChars(encoded, mac, out var written)
            && written == MacBytes;
    }

    private static void Sign(byte[] key, string projectId, string sessionId, long expiry, Span<byte> mac)
    {
        var message = Encoding.UTF8.GetBytes($"{Version}\n{projectId}\n{sessionId}\n{expiry.ToString(CultureInfo.InvariantCulture)}");
        HMACSHA256.HashData(key, message, mac);
    }
}
