using Ingest.Contracts.Tokens;

namespace Ingest.Contracts.Tests;

public sealed class SessionWriteTokenTests
{
    private const string Secret = "an-example-secret-of-32-characters!!";
    private const string OtherSecret = "another-secret-also-32-characters-long";

    /// <summary>Computed independently with Python's hmac and Node's crypto (README's snippets): the format is pinned.</summary>
    private const string Vector = "v1.1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY";

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_767_225_600 - 600);
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(1);

    private static SessionTokenStatus Verify(string? token, string project = "p1", string session = "checkout-42", DateTimeOffset? now = null, params string[] secrets) =>
        SessionWriteToken.Verify(
            token, project, session, [.. (secrets.Length == 0 ? [Secret] : secrets).Select(SessionWriteToken.KeyOf)], now ?? Now, Skew, MaxLifetime, out _);

    [Fact]
    public void Mint_matches_the_vector_computed_by_python_and_node() =>
        Assert.Equal(Vector, SessionWriteToken.Mint(Secret, "p1", "checkout-42", DateTimeOffset.FromUnixTimeSeconds(1_767_225_600)));

    [Fact]
    public void A_minted_token_verifies_and_reports_its_expiry()
    {
        var status = SessionWriteToken.Verify(Vector, "p1", "checkout-42", [SessionWriteToken.KeyOf(Secret)], Now, Skew, MaxLifetime, out var expiresAt);

        Assert.Equal(SessionTokenStatus.Valid, status);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_767_225_600), expiresAt);
    }

    [Fact]
    public void Missing_token() => Assert.Equal(SessionTokenStatus.Missing, Verify(null));

    [Theory]
    [InlineData("")]
    [InlineData("v1")]
    [InlineData("v1.1767225600")]
    [InlineData("v2.1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY")]
    [InlineData("V1.1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY")]
    [InlineData("v1.-1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY")]
    [InlineData("v1.+1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY")]
    [InlineData("v1.99999999999999999999.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY")]
    [InlineData("v1.1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29e")] // 42 characters
    [InlineData("v1.1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY=")] // padded
    [InlineData("v1.1767225600.jMAsJoQ1gnaOD+ysO4HAEp6W8RpyP3fnGsv9r4G29eY")] // base64, not base64url
    [InlineData("v1.1767225600.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY.x")]
    public void Anything_but_v1_expiry_mac_is_malformed(string token) =>
        Assert.Equal(token.Length == 0 ? SessionTokenStatus.Missing : SessionTokenStatus.Malformed, Verify(token));

    [Fact]
    public void A_token_for_another_session_or_project_is_invalid()
    {
        Assert.Equal(SessionTokenStatus.Invalid, Verify(Vector, session: "checkout-43"));
        Assert.Equal(SessionTokenStatus.Invalid, Verify(Vector, project: "p2"));
    }

    [Fact]
    public void A_changed_expiry_or_mac_is_invalid()
    {
        Assert.Equal(SessionTokenStatus.Invalid, Verify(Vector.Replace("1767225600", "1767225601", StringComparison.Ordinal)));
        Assert.Equal(SessionTokenStatus.Invalid, Verify(Vector[..^1] + "A"));
    }

    [Fact]
    public void Rotation_any_configured_secret_verifies_an_unknown_one_does_not()
    {
        Assert.Equal(SessionTokenStatus.Valid, Verify(Vector, secrets: [OtherSecret, Secret]));
        Assert.Equal(SessionTokenStatus.Valid, Verify(Vector, secrets: [Secret, OtherSecret]));
        Assert.Equal(SessionTokenStatus.Invalid, Verify(Vector, secrets: [OtherSecret]));
    }

    [Fact]
    public void Expiry_allows_the_clock_skew_and_no_more()
    {
        var expiry = DateTimeOffset.FromUnixTimeSeconds(1_767_225_600);

        Assert.Equal(SessionTokenStatus.Valid, Verify(Vector, now: expiry + Skew));
        Assert.Equal(SessionTokenStatus.Expired, Verify(Vector, now: expiry + Skew + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_forged_expired_token_is_invalid_not_expired() =>
        Assert.Equal(SessionTokenStatus.Invalid, Verify("v1.1000.jMAsJoQ1gnaOD_ysO4HAEp6W8RpyP3fnGsv9r4G29eY"));

    [Fact]
    public void A_token_beyond_the_maximum_lifetime_is_refused()
    {
        var expiry = DateTimeOffset.FromUnixTimeSeconds(1_767_225_600);

        Assert.Equal(SessionTokenStatus.Valid, Verify(Vector, now: expiry - MaxLifetime - Skew));
        Assert.Equal(SessionTokenStatus.TooLongLived, Verify(Vector, now: expiry - MaxLifetime - Skew - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Mint_refuses_short_secrets_and_invalid_ids()
    {
        var expiry = DateTimeOffset.UtcNow.AddHours(1);

        Assert.Throws<ArgumentException>(() => SessionWriteToken.Mint(new string('s', 31), "p1", "s1", expiry));
        Assert.Throws<ArgumentException>(() => SessionWriteToken.Mint(Secret, "p/1", "s1", expiry));
        Assert.Throws<ArgumentException>(() => SessionWriteToken.Mint(Secret, "p1", "s 1", expiry));
    }
}
