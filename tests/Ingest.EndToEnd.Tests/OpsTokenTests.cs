using System.Text.Json;
using Ingest.Contracts.Tokens;

namespace Ingest.EndToEnd.Tests;

/// <summary><c>ingest-ops token mint</c>: the token a site's backend would mint, the secret read from the environment.</summary>
public sealed class OpsTokenTests
{
    private const string Secret = "ops-test-secret-of-at-least-32-characters";

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Ops.Program.MainAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Mint_prints_a_token_that_verifies_for_that_project_and_session_and_lives_the_ttl()
    {
        // A variable of this test's own: the process environment is shared by tests running in parallel.
        var variable = $"INGEST_TEST_TOKEN_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, Secret);
        try
        {
            var (code, output, error) = await RunAsync("token", "mint", "--project", "p1", "--session", "s-9", "--ttl", "30m", "--secret-env", variable, "--json");

            Assert.True(code == 0, error);
            var json = JsonDocument.Parse(output).RootElement;
            var token = json.GetProperty("token").GetString();
            var status = SessionWriteToken.Verify(
                token, "p1", "s-9", [SessionWriteToken.KeyOf(Secret)], DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1), out var expiresAt);
            Assert.Equal(SessionTokenStatus.Valid, status);
            Assert.InRange(expiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
            Assert.Equal(SessionTokenStatus.Invalid, SessionWriteToken.Verify(
                token, "p1", "s-10", [SessionWriteToken.KeyOf(Secret)], DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1), out _));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Mint_without_the_secret_variable_exits_1_naming_it()
    {
        var (code, _, error) = await RunAsync("token", "mint", "--project", "p1", "--session", "s", "--secret-env", "INGEST_TEST_UNSET_VARIABLE");

        Assert.Equal(1, code);
        Assert.Contains("INGEST_TEST_UNSET_VARIABLE", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--project", "p/1", "--session", "s")]
    [InlineData("--project", "p1", "--session", "s s")]
    [InlineData("--project", "p1", "--session", "s", "--ttl", "-1h")]
    [InlineData("--project", "p1", "--session", "s", "--ttl", "soon")]
    [InlineData("--project", "p1")]
    public async Task Bad_arguments_exit_2(params string[] args)
    {
        var (code, _, error) = await RunAsync(["token", "mint", .. args]);

        Assert.Equal(2, code);
        Assert.Single(error.Trim().Split('\n'));
    }
}
