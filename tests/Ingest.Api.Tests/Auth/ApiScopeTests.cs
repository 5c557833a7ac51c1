using Ingest.Api.Auth;

namespace Ingest.Api.Tests.Auth;

public sealed class ApiScopeTests
{
    [Theory]
    [InlineData("ingest", ApiScopes.Ingest)]
    [InlineData("read", ApiScopes.Read)]
    [InlineData("ingest,read", ApiScopes.Ingest | ApiScopes.Read)]
    [InlineData(" read , ingest ", ApiScopes.Ingest | ApiScopes.Read)]
    public void TryParse_known_scopes(string text, ApiScopes expected)
    {
        Assert.True(ApiScope.TryParse(text, out var scopes, out var unknown));
        Assert.Equal(expected, scopes);
        Assert.Null(unknown);
    }

    [Theory]
    [InlineData("admin", "admin")]
    [InlineData("ingest,write", "write")]
    [InlineData("Ingest", "Ingest")]
    [InlineData("ingest,", "")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void TryParse_refuses_unknown_or_empty_scopes_and_names_the_culprit(string? text, string culprit)
    {
        Assert.False(ApiScope.TryParse(text, out var scopes, out var unknown));
        Assert.Equal(ApiScopes.None, scopes);
        Assert.Equal(culprit, unknown);
    }
}
