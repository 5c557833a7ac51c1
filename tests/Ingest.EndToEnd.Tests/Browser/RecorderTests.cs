using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ingest.Testing;
using Microsoft.Playwright;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>
/// The browser recorder in headless Chromium, on a page of another origin, streaming into the real pipeline; and the
/// replay page playing what was stored.
/// </summary>
public sealed class RecorderTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Typed = "Ada Lovelace, 10 Downing St";

    [Fact]
    public async Task Recorded_session_is_stored_in_order_and_the_replay_page_plays_it_to_the_end()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper!;
        await using var site = await TestPage.StartAsync(ct);
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        await pipeline.StartApiAsync([$"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={site.Origin}"], ct);
        await pipeline.StartWorkerAsync(ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        const string session = "browser-recorded";

        var page = await browser.NewPageAsync();
        var pageErrors = Chromium.CollectErrors(page);
        await page.GotoAsync(site.Url(pipeline.Api.Address, session, Pipeline.IngestOnlyKey));
        var recording = Stopwatch.StartNew();
        await RecordedSession.InteractAsync(page, Typed);
        var stats = await RecordedSession.StopAsync(page);
        recording.Stop();

        Assert.Equal("[]", await RecordedSession.ErrorsAsync(page));
        Assert.Empty(pageErrors);
        Assert.Equal(0, stats.DroppedEvents);
        Assert.Equal(stats.EventsRecorded, stats.EventsSent);
        Assert.True(stats.BatchesSent >= 2, $"the session was sent in {stats.BatchesSent} batch(es); expected batching by time");

        await pipeline.WaitForStoredAsync(stats.BatchesSent, TimeSpan.FromSeconds(60), ct);
        using var reader = pipeline.Client(Pipeline.ReadOnlyKey);
        var stored = await RecordedSession.ReadStoredAsync(reader, session, ct);
        Assert.Equal(Enumerable.Range(0, (int)stats.BatchesSent).Select(i => (long)i), stored.Select(s => s.Seq));
        var events = stored.SelectMany(s => s.Events).ToList();
        Assert.Equal(stats.EventsSent, events.Count);
        // The first batch holds Meta (4) and then the full snapshot (2) a replay starts from.
        var types = stored[0].Events.Select(e => e.GetProperty("type").GetInt32()).ToList();
        Assert.InRange(types.IndexOf(4), 0, types.IndexOf(2) - 1);
        // Inputs are masked by default: what was typed is stored as asterisks, never as typed.
        Assert.Contains(events, e => IsInput(e, Masked(Typed)));
        Assert.DoesNotContain(events, e => IsInput(e, Typed));

        var seconds = recording.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recorded {stats.EventsRecorded} events in {seconds:F1} s: {stats.EventsRecorded / seconds:F0} events/s, " +
            $"{stats.BytesRecorded / seconds / 1024:F1} KiB/s JSON, {stats.BytesSent / seconds / 1024:F1} KiB/s sent (gzip, " +
            $"{(double)stats.BytesRecorded / stats.BytesSent:F1}x) in {stats.BatchesSent} batches"));

        var replay = await browser.NewPageAsync();
        var replayErrors = Chromium.CollectErrors(replay);
        var started = Stopwatch.StartNew();
        var served = await replay.GotoAsync($"{pipeline.Api.Address}replay/{session}#key={Pipeline.ReadOnlyKey}&speed=4&pageSize=2");
        // It plays under the page's strict policy (a violation is a console error, which fails the test below).
        Assert.Equal(Api.Recorder.ReplayPage.ContentSecurityPolicy, await served!.HeaderValueAsync("content-security-policy"));
        await replay.WaitForSelectorAsync("body[data-state=finished], body[data-state=error]", new() { Timeout = 90_000 });
        Assert.Equal("finished", await replay.GetAttributeAsync("body", "data-state"));
        Assert.Equal(stats.EventsSent.ToString(CultureInfo.InvariantCulture), await replay.GetAttributeAsync("body", "data-events"));
        Assert.Equal(stats.BatchesSent.ToString(CultureInfo.InvariantCulture), await replay.GetAttributeAsync("body", "data-payloads"));
        Assert.Equal("1", await replay.GetAttributeAsync("body", "data-started-at-payload")); // played while pages of 2 were loading
        Assert.DoesNotContain("key=", replay.Url, StringComparison.Ordinal); // dropped from the address bar
        await AssertShowsTheEndAsync(replay);
        Assert.Empty(replayErrors);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay page loaded and played to the end at 4x in {started.Elapsed.TotalSeconds:F1} s"));
    }

    [Fact]
    public async Task Replay_that_catches_up_with_loading_carries_on_from_where_it_stopped_and_shows_the_end()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var site = await TestPage.StartAsync(ct);
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartApiAsync([$"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={site.Origin}"], ct);
        await pipeline.StartWorkerAsync(ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        const string session = "browser-caught-up";
        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url(pipeline.Api.Address, session, Pipeline.IngestOnlyKey));
        await RecordedSession.InteractAsync(page, Typed);
        var stats = await RecordedSession.StopAsync(page);
        await pipeline.WaitForStoredAsync(stats.BatchesSent, TimeSpan.FromSeconds(60), ct);

        var replay = await browser.NewPageAsync();
        var replayErrors = Chromium.CollectErrors(replay);
        // A network slower than the playback: each further list page is held until the player has played everything
        // loaded before it and waits (data-state=waiting); then it has to carry on from where it stopped. At 50x rrweb's
        // clock runs up to a frame times 50 past the last loaded event before the player notices (a slow machine at 4x
        // does the same): resuming from that clock instead of from the last event applied the next page's first events
        // out of turn into rrweb's virtual DOM, and the replayed page froze mid-typing while the page said "finished".
        var held = 0;
        var neverWaited = new List<string>();
        await replay.RouteAsync(new Regex(@"/payloads\?.*cursor="), async route =>
        {
            Interlocked.Increment(ref held);
            try
            {
                await replay.WaitForSelectorAsync("body[data-state=waiting]", new() { Timeout = 30_000 });
            }
            catch (TimeoutException)
            {
                lock (neverWaited)
                {
                    neverWaited.Add(route.Request.Url);
                }
            }
            finally
            {
                await route.ContinueAsync();
            }
        });
        await replay.GotoAsync($"{pipeline.Api.Address}replay/{session}#key={Pipeline.ReadOnlyKey}&speed=50&pageSize=2");
        await replay.WaitForSelectorAsync("body[data-state=finished], body[data-state=error]", new() { Timeout = 90_000 });

        Assert.Equal("finished", await replay.GetAttributeAsync("body", "data-state"));
        Assert.Equal(stats.EventsSent.ToString(CultureInfo.InvariantCulture), await replay.GetAttributeAsync("body", "data-events"));
        Assert.True(held >= 1, $"all {stats.BatchesSent} payloads were on the first list page: nothing to wait for");
        Assert.Empty(neverWaited);
        await AssertShowsTheEndAsync(replay);
        Assert.Empty(replayErrors);
    }

    [Fact]
    public async Task Leaving_the_page_sends_the_last_batch_with_keepalive()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var site = await TestPage.StartAsync(ct);
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        await pipeline.StartApiAsync([$"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={site.Origin}"], ct);
        await pipeline.StartWorkerAsync(ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        const string session = "browser-leaving";
        const string lastWords = "typed just before leaving";

        var page = await browser.NewPageAsync();
        // A minute between timed flushes: what is typed now can only leave the page with the page-hide flush.
        await page.GotoAsync(site.Url(pipeline.Api.Address, session, Pipeline.IngestOnlyKey, flushIntervalMs: 60_000));
        var before = await RecordedSession.FlushAsync(page);
        await page.Locator("#name").PressSequentiallyAsync(lastWords, new() { Delay = 20 });
        var pending = await RecordedSession.StatsAsync(page);
        Assert.Equal(before.BatchesSent, pending.BatchesSent);
        Assert.Equal(0, pending.QueuedBatches);
        Assert.True(pending.EventsRecorded > pending.EventsSent, "the typing should still be in the recorder's buffer");

        await page.GotoAsync("about:blank");

        await pipeline.WaitForStoredAsync(before.BatchesSent + 1, TimeSpan.FromSeconds(60), ct);
        using var reader = pipeline.Client(Pipeline.ReadOnlyKey);
        var stored = await RecordedSession.ReadStoredAsync(reader, session, ct);
        Assert.Equal(Enumerable.Range(0, (int)before.BatchesSent + 1).Select(i => (long)i), stored.Select(s => s.Seq));
        Assert.Equal(pending.EventsRecorded, stored.Sum(s => s.Events.Count));
        Assert.Contains(stored[^1].Events, e => IsInput(e, Masked(lastWords)));
    }

    [Fact]
    public async Task A_refused_batch_is_reported_with_its_status_and_dropped_not_retried()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var site = await TestPage.StartAsync(ct);
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartApiAsync([$"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={site.Origin}"], ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;

        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url(pipeline.Api.Address, "browser-refused", "not-a-key"));
        var stats = await RecordedSession.StopAsync(page);

        // The 401 carries the CORS headers, so the recorder can read it: a refusal, not a network error to retry.
        Assert.Equal(401, stats.LastStatus);
        Assert.Equal(0, stats.Retries);
        Assert.Equal(0, stats.BatchesSent);
        Assert.True(stats.DroppedBatches >= 1);
        Assert.Equal(stats.EventsRecorded, stats.DroppedEvents);
        var errors = await RecordedSession.ErrorsAsync(page);
        Assert.Contains("\"kind\":\"refused\"", errors, StringComparison.Ordinal);
        Assert.Contains("\"status\":401", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "The key was not accepted (401)")]
    [InlineData(Pipeline.IngestOnlyKey, "needs the read scope")]
    [InlineData(Pipeline.OtherProjectKey, "(404)")]
    public async Task Replay_page_explains_a_refused_key_or_an_unknown_session(string? key, string message)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartApiAsync(ct);
        await pipeline.StartWorkerAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        await Payloads.PostAcceptedAsync(client, "replay-refusals", 0, """{"v":1,"events":[]}"""u8.ToArray(), ct);
        await pipeline.WaitForStoredAsync(1, TimeSpan.FromSeconds(60), ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;

        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{pipeline.Api.Address}replay/replay-refusals#key={key ?? "not-a-key"}");
        await page.WaitForSelectorAsync("body[data-state=error]", new() { Timeout = 30_000 });
        Assert.Contains(message, await page.Locator("#error").TextContentAsync(), StringComparison.Ordinal);
    }

    /// <summary>The replayed page (the player's iframe) as <see cref="RecordedSession.InteractAsync"/> left the recorded one.</summary>
    private static async Task AssertShowsTheEndAsync(IPage replay)
    {
        var replayed = replay.Locator("#player iframe").ContentFrame;
        Assert.Equal(Masked(Typed), await replayed.Locator("#name").InputValueAsync());
        // Page text is not masked unless the site says so (maskTextSelector: RecorderPrivacyTests).
        Assert.Equal($"Hello, {Typed}", await replayed.Locator("#echo").TextContentAsync());
        Assert.Equal(4, await replayed.Locator("#items li").CountAsync());
    }

    /// <summary>What rrweb's <c>maskAllInputs</c> stores for <paramref name="typed"/>: one asterisk per character.</summary>
    internal static string Masked(string typed) => new('*', typed.Length);

    /// <summary>An rrweb input event (IncrementalSnapshot, source Input) carrying <paramref name="text"/>.</summary>
    internal static bool IsInput(JsonElement e, string text) =>
        e.GetProperty("type").GetInt32() == 3
        && e.GetProperty("data").GetProperty("source").GetInt32() == 5
        && e.GetProperty("data").TryGetProperty("text", out var t) && t.GetString() == text;
}
