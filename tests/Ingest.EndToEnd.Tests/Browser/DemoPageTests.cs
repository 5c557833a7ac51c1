using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Ingest.Api.Demo;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>
/// The development demo page (<c>/demo</c>, <c>Api:Demo:Enabled</c>): it records itself into the real pipeline and its
/// link opens the replay of that session; when the setting is off, it does not exist.
/// </summary>
public sealed class DemoPageTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Typed = "Grace Hopper";

    [Fact]
    public async Task Demo_page_records_itself_in_order_and_its_link_replays_the_session_to_the_end()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper!;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        // The page posts to its own origin, which the demo project must allow: the API's address is chosen up front.
        var origin = $"http://127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}";
        await pipeline.StartApiAsync(
            [
                $"--urls={origin}", "--Api:Demo:Enabled=true", $"--Api:Demo:Project={Pipeline.Project}",
                $"--Api:Demo:IngestKey={Pipeline.IngestOnlyKey}", $"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={origin}",
            ],
            ct);
        await pipeline.StartWorkerAsync(ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;

        var page = await browser.NewPageAsync();
        var pageErrors = Chromium.CollectErrors(page);
        var served = await page.GotoAsync($"{origin}/demo");
        // Recorded under the page's strict policy (a violation is a console error, which fails the test below).
        Assert.Equal(DemoPage.ContentSecurityPolicy, await served!.HeaderValueAsync("content-security-policy"));
        Assert.Equal("no-store", await served.HeaderValueAsync("cache-control"));
        var session = await page.Locator("#session").TextContentAsync() ?? "";
        Assert.Matches("^demo-[0-9a-f]{16}$", session);
        Assert.Equal($"/replay/{session}", await page.GetAttributeAsync("#replay", "href"));
        Assert.DoesNotContain(Pipeline.ReadOnlyKey, await page.ContentAsync(), StringComparison.Ordinal);

        await page.ClickAsync("#add");
        await page.Locator("#name").PressSequentiallyAsync(Typed, new() { Delay = 60 });
        await page.SelectOptionAsync("#plan", "team");
        await page.ClickAsync("#add");
        await RecordedSession.FlushAsync(page);
        await page.ClickAsync("#add");
        var stats = await RecordedSession.StopAsync(page);

        Assert.Equal("[]", await RecordedSession.ErrorsAsync(page));
        Assert.Equal(0, stats.DroppedEvents);
        Assert.True(stats.BatchesSent >= 2, $"sent in {stats.BatchesSent} batch(es); the flush in between should make two");
        await pipeline.WaitForStoredAsync(stats.BatchesSent, TimeSpan.FromSeconds(60), ct);
        using var reader = pipeline.Client(Pipeline.ReadOnlyKey);
        var stored = await RecordedSession.ReadStoredAsync(reader, session, ct);
        Assert.Equal(Enumerable.Range(0, (int)stats.BatchesSent).Select(i => (long)i), stored.Select(s => s.Seq));
        var events = stored.SelectMany(s => s.Events).ToList();
        Assert.Equal(stats.EventsSent, events.Count);
        Assert.Contains(events, e => RecorderTests.IsInput(e, RecorderTests.Masked(Typed)));
        Assert.DoesNotContain(events, e => RecorderTests.IsInput(e, Typed));

        // The link: the replay page asks for a read key (the demo page has none), then plays the session.
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync(Pipeline.ReadOnlyKey);
        await page.ClickAsync("#replay");
        await page.WaitForURLAsync($"{origin}/replay/{session}", new() { Timeout = 30_000 });
        await page.WaitForSelectorAsync("body[data-state=finished], body[data-state=error]", new() { Timeout = 90_000 });
        Assert.Equal("finished", await page.GetAttributeAsync("body", "data-state"));
        Assert.Equal(stats.EventsSent.ToString(CultureInfo.InvariantCulture), await page.GetAttributeAsync("body", "data-events"));
        Assert.Equal(stats.BatchesSent.ToString(CultureInfo.InvariantCulture), await page.GetAttributeAsync("body", "data-payloads"));
        var replayed = page.Locator("#player iframe").ContentFrame;
        Assert.Equal(RecorderTests.Masked(Typed), await replayed.Locator("#name").InputValueAsync());
        Assert.Equal(3, await replayed.Locator("#items li").CountAsync());
        Assert.Equal("3 item(s) on the Team plan.", await replayed.Locator("#summary").TextContentAsync());
        Assert.Empty(pageErrors);
        output.WriteLine($"session {session}: {stats.EventsSent} events in {stats.BatchesSent} payloads, replayed to the end");
    }

    [Fact]
    public async Task Without_the_setting_the_demo_is_an_unknown_route()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        // A project and key that would do, so only the setting is missing.
        await pipeline.StartApiAsync([$"--Api:Demo:Project={Pipeline.Project}", $"--Api:Demo:IngestKey={Pipeline.IngestOnlyKey}"], ct);
        using var http = new HttpClient { BaseAddress = pipeline.Api.Address };

        using var unknown = await http.GetAsync("/no-such-page", ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var unknownBody = WithoutTraceId(await unknown.Content.ReadAsStringAsync(ct));
        foreach (var path in new[] { "/demo", "/demo/demo.js", "/demo/demo.css" })
        {
            using var demo = await http.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.NotFound, demo.StatusCode);
            Assert.Equal(unknown.Content.Headers.ContentType?.ToString(), demo.Content.Headers.ContentType?.ToString());
            Assert.Equal(unknownBody.Replace("/no-such-page", path, StringComparison.Ordinal), WithoutTraceId(await demo.Content.ReadAsStringAsync(ct)));
            Assert.Equal(unknown.Headers.CacheControl?.ToString(), demo.Headers.CacheControl?.ToString());
        }
    }

    /// <summary>The problem document without its <c>traceId</c>, the one member that differs between two requests.</summary>
    private static string WithoutTraceId(string problem)
    {
        var json = JsonNode.Parse(problem)!.AsObject();
        Assert.True(json.Remove("traceId"), $"no traceId in {problem}");
        return json.ToJsonString();
    }

    /// <summary>A loopback port nothing listens on now (the API binds it right after).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
