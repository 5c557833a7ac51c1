using System.Security.Cryptography;
using System.Text;
using Ingest.Api.Auth;
using Ingest.Api.Demo;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Tests.Demo;

public sealed class DemoOptionsValidatorTests
{
    private const string Key = "demo-page-ingest-key";

    private static string Sha(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static IngestOptions Projects(string scopes = "ingest", bool origins = true, bool tokens = false) => new()
    {
        Projects =
        {
            ["demo"] = new ProjectOptions
            {
                Keys = { new ApiKeyOptions { Sha256 = Sha("demo-read-key"), Scopes = "read" }, new ApiKeyOptions { Sha256 = Sha(Key), Scopes = scopes } },
                AllowedOrigins = origins ? ["http://127.0.0.1:8080"] : [],
                WriteTokens = { Required = tokens, Secrets = tokens ? [new string('s', 32)] : [] },
            },
            ["other"] = new ProjectOptions { Keys = { new ApiKeyOptions { Sha256 = Sha("other-ingest-key"), Scopes = "ingest" } } },
        },
    };

    private static IReadOnlyList<string> Failures(DemoOptions demo, IngestOptions ingest) =>
        new DemoOptionsValidator(Options.Create(ingest)).Validate(null, demo).Failures?.ToList() ?? [];

    private static DemoOptions Enabled(string? project = "demo", string? key = Key) => new() { Enabled = true, Project = project, IngestKey = key };

    [Fact]
    public void Disabled_demo_checks_nothing() =>
        Assert.Empty(Failures(new DemoOptions { Enabled = false, Project = "nowhere", IngestKey = "anything" }, Projects()));

    [Fact]
    public void Ingest_only_key_of_a_project_with_origins_passes() => Assert.Empty(Failures(Enabled(), Projects()));

    [Fact]
    public void Enabled_demo_needs_a_project_and_a_key() =>
        Assert.Equal(
            [
                "Api:Demo:Project is required when Api:Demo:Enabled is true: the project the demo page records into.",
                "Api:Demo:IngestKey is required when Api:Demo:Enabled is true: a key of Api:Demo:Project with the ingest scope only.",
            ],
            Failures(Enabled(project: null, key: null), Projects()));

    [Fact]
    public void Unknown_project_is_refused() =>
        Assert.Equal(["Api:Demo:Project 'nowhere' is not one of Ingest:Projects."], Failures(Enabled(project: "nowhere"), Projects()));

    [Theory]
    [InlineData("ingest,read")]
    [InlineData("ingest,erase")]
    [InlineData("read")]
    public void Key_that_could_do_more_than_ingest_is_never_published(string scopes)
    {
        var failure = Assert.Single(Failures(Enabled(), Projects(scopes)));
        Assert.StartsWith($"Api:Demo:IngestKey has the scopes '{scopes}'", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_of_another_project_or_none_is_refused_without_repeating_it()
    {
        foreach (var key in new[] { "other-ingest-key", "not-a-key" })
        {
            var failure = Assert.Single(Failures(Enabled(key: key), Projects()));
            Assert.Equal("Api:Demo:IngestKey is not a key of Ingest:Projects:demo:Keys (no Sha256 there matches it).", failure);
        }
    }

    [Fact]
    public void Project_a_page_cannot_post_to_is_refused()
    {
        var failures = Failures(Enabled(), Projects(origins: false, tokens: true));
        Assert.Equal(2, failures.Count);
        Assert.StartsWith("Ingest:Projects:demo:AllowedOrigins is empty", failures[0], StringComparison.Ordinal);
        Assert.StartsWith("Ingest:Projects:demo:WriteTokens:Required is true", failures[1], StringComparison.Ordinal);
    }
}
