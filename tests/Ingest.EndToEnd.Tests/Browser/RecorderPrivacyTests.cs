using Ingest.Contracts.Tokens;
using Ingest.Testing;
using Microsoft.Playwright;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>
/// Session write tokens and privacy options of the browser recorder, in headless Chromium on a page of another origin,
/// into the real pipeline. The test site's backend mints the tokens (<see cref="TestPage"/>'s <c>/token</c>).
/// </summary>
public sealed class RecorderPrivacyTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Typed = "ada@example.com";

    /// <summary>The pipeline (API allowing the site's origin, with or without tokens; a worker), the site and a browser, disposed in reverse order.</summary>
    private sealed record Rig(Pipeline Pipeline, TestPage Site, IPlaywright Playwright, IBrowser Browser) : IAsyncDisposable
    {
        public static async Task<Rig> StartAsync(KafkaFixture kafka, PostgresFixture postgres, bool tokens, CancellationToken ct)
        {
            var site = await TestPage.StartAsync(ct);
            Pipeline? pipeline = null;
            try
            {
                pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
                await pipeline.StartApiAsync([$"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={site.Origin}", .. tokens ? TestPage.TokenArgs(Pipeline.Project) : []], ct);
                await pipeline.StartWorkerAsync(ct);
                var (playwright, browser) = await Chromium.LaunchAsync();
                return new Rig(pipeline, site, playwright, browser);
            }
            catch
            {
                if (pipeline is not null)
                {
                    await pipeline.DisposeAsync();
                }

                await site.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            Playwright.Dispose();
            await Site.DisposeAsync();
            await Pipeline.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_tokens_required_the_recorder_fetches_and_refreshes_its_token_and_every_batch_is_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await Rig.StartAsync(kafka, postgres, tokens: true, ct);
        var (pipeline, site, browser) = (rig.Pipeline, rig.Site, rig.Browser);
        const string session = "browser-token-refresh";

        var page = await browser.NewPageAsync();
        var pageErrors = Chromium.CollectErrors(page);
        // Starts with a token signed by a secret the project no longer has (a rotation): the first post is refused
        // (session-token-invalid), a new token fetched from the site, the batch sent again. Tokens live 70 s and are
        // refreshed 69.5 s before expiry: about every half second of recording.
        var retired = SessionWriteToken.Mint("a-retired-secret-of-more-than-32-characters", Pipeline.Project, session, DateTimeOffset.UtcNow.AddHours(1));
        await page.GotoAsync(site.Url(pipeline.Api.Address, session, Pipeline.IngestOnlyKey, 500,
            $"{{ sessionToken: '{retired}', refreshTtl: 70, tokenRefreshMarginMs: 69500 }}"));
        await RecordedSession.InteractAsync(page, Typed);
        var stats = await RecordedSession.StopAsync(page);

        // The browser logs the refused post as a failed resource load; nothing else may fail.
        Assert.Single(pageErrors, e => e.Contains("status of 403", StringComparison.Ordinal));
        Assert.All(pageErrors, e => Assert.Contains("status of 403", e, StringComparison.Ordinal));
        Assert.Equal(0, stats.DroppedEvents);
        Assert.Equal(stats.EventsRecorded, stats.EventsSent);
        Assert.True(stats.BatchesSent >= 3, $"{stats.BatchesSent} batches");
        var errors = await RecordedSession.ErrorsAsync(page);
        Assert.Contains("session-token-invalid", errors, StringComparison.Ordinal); // the first post, once
        Assert.DoesNotContain("\"refused\"", errors, StringComparison.Ordinal);
        Assert.True(site.TokensMinted >= 2, $"the site minted {site.TokensMinted} token(s); expected refreshes before expiry");

        await pipeline.WaitForStoredAsync(stats.BatchesSent, TimeSpan.FromSeconds(60), ct);
        using var reader = pipeline.Client(Pipeline.ReadOnlyKey);
        var stored = await RecordedSession.ReadStoredAsync(reader, session, ct);
        Assert.Equal(Enumerable.Range(0, (int)stats.BatchesSent).Select(i => (long)i), stored.Select(s => s.Seq));
    }

    [Fact]
    public async Task With_tokens_required_a_recorder_without_one_is_refused_and_reports_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await Rig.StartAsync(kafka, postgres, tokens: true, ct);
        var (pipeline, site, browser) = (rig.Pipeline, rig.Site, rig.Browser);

        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url(pipeline.Api.Address, "browser-no-token", Pipeline.IngestOnlyKey));
        var stats = await RecordedSession.StopAsync(page);

        Assert.Equal(403, stats.LastStatus);
        Assert.Equal(0, stats.BatchesSent);
        Assert.Equal(stats.EventsRecorded, stats.DroppedEvents);
        var errors = await RecordedSession.ErrorsAsync(page);
        Assert.Contains("\"kind\":\"refused\"", errors, StringComparison.Ordinal);
        Assert.Contains("session-token-missing", errors, StringComparison.Ordinal);
        Assert.Equal(0, await pipeline.StoredCountAsync(ct));
    }

    [Fact]
    public async Task Text_and_elements_the_site_names_are_masked_and_blocked()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await Rig.StartAsync(kafka, postgres, tokens: false, ct);
        var (pipeline, site, browser) = (rig.Pipeline, rig.Site, rig.Browser);
        const string session = "browser-masked";

        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url(pipeline.Api.Address, session, Pipeline.IngestOnlyKey,
            options: "{ recordOptions: { maskTextSelector: '#echo', blockSelector: '#secret' } }"));
        await RecordedSession.InteractAsync(page, Typed);
        var stats = await RecordedSession.StopAsync(page);
        Assert.Equal("[]", await RecordedSession.ErrorsAsync(page));

        await pipeline.WaitForStoredAsync(stats.BatchesSent, TimeSpan.FromSeconds(60), ct);
        using var reader = pipeline.Client(Pipeline.ReadOnlyKey);
        var stored = await RecordedSession.ReadStoredAsync(reader, session, ct);
        var json = string.Join('\n', stored.SelectMany(s => s.Events).Select(e => e.GetRawText()));
        Assert.Contains("Checkout", json, StringComparison.Ordinal); // the rest of the page is recorded
        Assert.DoesNotContain("ada@example", json, StringComparison.Ordinal); // neither the input (masked by default) nor its echo
        Assert.DoesNotContain("12345678", json, StringComparison.Ordinal); // the blocked element's content
        Assert.Contains(stored.SelectMany(s => s.Events), e => RecorderTests.IsInput(e, RecorderTests.Masked(Typed)));
    }
}
