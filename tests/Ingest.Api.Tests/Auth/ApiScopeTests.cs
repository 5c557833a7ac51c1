using Ingest.Api.Auth;

namespace Ingest.Api.Tests.Auth;

public sealed class ApiScopeTests
{
    [Theory]
    [InlineData("ingest", ApiScopes.Ingest)]
    [InlineData("read", ApiScopes.Read)]
    [InlineData("ingest,read", ApiScopes.Ingest | ApiScopes.Read)]
    [InlineData(" read , ingest ", ApiScopes.Ingest | ApiScopes.Read)]
    [InlineData("erase", ApiScopes.Erase)]
    [InlineData("read,erase", ApiScopes.Read | ApiScopes.Erase)]
    [InlineData("ingest,read,erase", ApiScopes.Ingest | ApiScopes.Read | ApiScopes.Erase)]
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
    [InlineData("read,delete", "delete")]
    [InlineData("ERASE", "ERASE")]
    [InlineData("ingest,", "")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void TryParse_refuses_unknown_or_empty_scopes_and_names_the_culprit(string? text, string culprit)
    {
        Assert.False(ApiScope.TryParse(text, out var scopes, out var unknown));
        Assert.Equal(ApiScopes.None, scopes);
        Assert.Equal(culprit, unknown);
    }

    [Fact]
    public void Names_are_the_configured_spellings_of_each_scope()
    {
        Assert.Equal(["ingest", "read", "erase"], ApiScope.Names(ApiScopes.Ingest | ApiScopes.Read | ApiScopes.Erase));
        Assert.Equal(["erase"], ApiScope.Names(ApiScopes.Erase));
    }
}
