using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.EndToEnd.Tests.Browser;
using Ingest.Testing;
using Microsoft.Playwright;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// The status page, rendered by a real headless Chromium (Playwright), shows the numbers of <c>/status/data</c> and
/// charts them with axes and a legend; the favicons are served. With <c>INGEST_WRITE_SCREENSHOT=1</c> the test writes
/// the screenshot the README shows (<see cref="ScreenshotPath"/>).
/// </summary>
public sealed class StatusPageTests(KafkaFixture kafka, PostgresFixture postgres)
{
    /// <summary>Where the committed screenshot lives, relative to the repository root.</summary>
    public const string ScreenshotPath = "Ingest.Api/Status/status-screenshot.png";

    [Fact]
    public async Task Page_in_Chromium_shows_the_numbers_of_status_data_and_charts_rates_and_lag_per_partition()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper!;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        for (var seq = 0; seq < 9; seq++)
        {
            await Payloads.PostAcceptedAsync(client, $"status-{seq % 3}", seq / 3, Payloads.Make("status", seq, 400), ct);
        }

        await DeadLettersAsync(pipeline.Topic, 2, ct);

        // No worker yet: everything is lag, and the page must say so. The first request wakes the background refresher.
        using var anonymous = new HttpClient { BaseAddress = pipeline.Api.Address };
        var data = await Eventually.UntilAsync(
            () => anonymous.GetFromJsonAsync<JsonElement>("/status/data", ct),
            d => d.GetProperty("totalLag") is { ValueKind: JsonValueKind.Number } lag && lag.GetInt64() == 9
                && d.GetProperty("deadLetters").GetInt64() == 2 && d.GetProperty("oldestUnstoredAt").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(30), d => $"status never showed the 9 posts and 2 dead letters: {d}", ct);
        Assert.Equal(9, data.GetProperty("acceptedByThisApi").GetInt64());
        var oldestAt = data.GetProperty("oldestUnstoredAt").GetDateTimeOffset();
        Assert.InRange(DateTimeOffset.UtcNow - oldestAt, TimeSpan.Zero - TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60));

        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        var errors = Chromium.CollectErrors(page); // a CSP violation is a console error
        await page.GotoAsync(new Uri(pipeline.Api.Address, "/status").ToString());
        await page.WaitForSelectorAsync("body[data-loaded=true]", new PageWaitForSelectorOptions { Timeout = 30_000 });

        // The numbers are those of /status/data: stable while no worker runs.
        Assert.Equal("9", await page.TextContentAsync("#total-lag"));
        Assert.Equal("2", await page.TextContentAsync("#dlq-depth"));
        Assert.Equal("9", await page.TextContentAsync("#accepted"));
        Assert.Equal(oldestAt, DateTimeOffset.Parse((await page.GetAttributeAsync("#oldest-age", "data-since"))!, CultureInfo.InvariantCulture));
        var shownAge = double.Parse((await page.GetAttributeAsync("#oldest-age", "data-seconds"))!, CultureInfo.InvariantCulture);
        Assert.InRange(shownAge, data.GetProperty("oldestUnstoredAgeSeconds").GetDouble(), data.GetProperty("oldestUnstoredAgeSeconds").GetDouble() + 60);
        Assert.EndsWith(" s", await page.TextContentAsync("#oldest-age"), StringComparison.Ordinal);
        var partitions = data.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(3, partitions.Count);
        Assert.Equal(partitions.Count, await page.Locator("#partitions tr").CountAsync());
        foreach (var partition in partitions)
        {
            var row = page.Locator($"#partitions tr[data-partition=\"{partition.GetProperty("partition").GetInt32()}\"]");
            Assert.Equal(Number(partition.GetProperty("end")), await row.Locator("td.end").TextContentAsync());
            Assert.Equal(Number(partition.GetProperty("lag")), await row.Locator("td.lag").TextContentAsync());
            Assert.Equal("–", await row.Locator("td.committed").TextContentAsync());
            // A partition no session hashed to has no lag and nothing unstored.
            var lagging = partition.GetProperty("lag").GetInt64() > 0;
            Assert.Equal(lagging, partition.GetProperty("oldestUnstoredAt").ValueKind == JsonValueKind.String);
            Assert.Equal(lagging, await row.Locator("td.oldest").TextContentAsync() != "none");
        }

        // Three uPlot charts, each a canvas with named axes and a legend below it (never over the data).
        Assert.Equal("payloads/s", await page.GetAttributeAsync("#rates-figure", "data-y-label"));
        Assert.Equal("messages", await page.GetAttributeAsync("#lag-figure", "data-y-label"));
        Assert.Equal("seconds", await page.GetAttributeAsync("#age-figure", "data-y-label"));
        Assert.StartsWith("time", await page.GetAttributeAsync("#rates-figure", "data-x-label"), StringComparison.Ordinal);
        Assert.Equal("10", await page.TextContentAsync("#smoothing"));
        Assert.Contains("10 s moving average", await page.TextContentAsync("#rates-figure figcaption"), StringComparison.Ordinal);
        Assert.Equal(["ingest (written to Kafka)", "stored (committed by workers)"], await Legend(page, "#rates-chart"));
        Assert.Equal(["partition 0", "partition 1", "partition 2"], await Legend(page, "#lag-chart"));
        Assert.Equal(["oldest unstored payload's age", "dead letters"], await Legend(page, "#age-chart"));
        foreach (var chart in new[] { "#rates-chart", "#lag-chart", "#age-chart" })
        {
            var canvas = await page.Locator($"{chart} canvas").BoundingBoxAsync() ?? throw new Xunit.Sdk.XunitException($"no canvas in {chart}");
            var legend = await page.Locator($"{chart} .u-legend").BoundingBoxAsync() ?? throw new Xunit.Sdk.XunitException($"no legend in {chart}");
            Assert.True(canvas.Width > 300 && canvas.Height > 150, $"{chart}: canvas {canvas.Width}×{canvas.Height}");
            Assert.True(legend.Y >= canvas.Y + canvas.Height - 1, $"{chart}: the legend (y {legend.Y}) overlaps the canvas (y {canvas.Y}+{canvas.Height})");
        }

        // The icons: linked, served without a key, cacheable.
        Assert.Equal(2, await page.Locator("link[rel=icon]").CountAsync());
        foreach (var (path, type) in new[] { ("/favicon.ico", "image/x-icon"), ("/favicon.svg", "image/svg+xml") })
        {
            using var icon = await anonymous.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
            Assert.Equal(type, icon.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("public, max-age=", icon.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
            Assert.NotNull(icon.Headers.ETag);
            Assert.NotEmpty(await icon.Content.ReadAsByteArrayAsync(ct));
        }

        // A worker drains the lag while uploads go on: the page charts both rates, and the lag returns to 0.
        await pipeline.StartWorkerAsync(ct);
        var posted = 9 + await UploadForAsync(client, TimeSpan.FromSeconds(20), ct);
        await pipeline.WaitForStoredAsync(posted, TimeSpan.FromSeconds(60), ct);
        await Eventually.TrueAsync(
            async () => await page.TextContentAsync("#total-lag") == "0" && await page.TextContentAsync("#oldest-age") == "none"
                && double.TryParse(await page.TextContentAsync("#store-rate"), CultureInfo.InvariantCulture, out var rate) && rate > 0,
            TimeSpan.FromSeconds(30), "the page to show lag 0, no unstored payload and a store rate", ct);
        var samples = int.Parse((await page.GetAttributeAsync("body", "data-samples"))!, CultureInfo.InvariantCulture);
        Assert.True(samples >= 15, $"only {samples} samples charted");
        Assert.True(await page.Locator("#error").IsHiddenAsync(), await page.TextContentAsync("#error"));
        Assert.Empty(errors);

        var history = (await anonymous.GetFromJsonAsync<JsonElement>("/status/history", ct)).EnumerateArray()
            .Select(h => h.GetProperty("at").GetDateTimeOffset()).ToList();
        var gaps = history.Zip(history.Skip(1), (a, b) => (b - a).TotalSeconds).Order().ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{history.Count} snapshots in /status/history, {gaps[gaps.Count / 2]:F2} s apart (median), {gaps[^1]:F2} s at most"));
        output.WriteLine($"{posted} payloads, {samples} samples charted, ingest {await page.TextContentAsync("#ingest-rate")}/s, store {await page.TextContentAsync("#store-rate")}/s");
        if (Environment.GetEnvironmentVariable("INGEST_WRITE_SCREENSHOT") == "1")
        {
            var path = Path.Combine(RepositoryRoot(), ScreenshotPath);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            output.WriteLine($"screenshot: {path}");
        }
    }

    private static string Number(JsonElement value) => value.GetInt64().ToString(CultureInfo.InvariantCulture);

    private static async Task<string[]> Legend(IPage page, string chart) =>
        [.. (await page.Locator($"{chart} .u-legend .u-series .u-label").AllTextContentsAsync()).Where(label => label.Length > 0 && label != "Time")];

    /// <summary>Uploads for <paramref name="duration"/> at a rate that steps from ~15/s to ~40/s halfway; returns how many.</summary>
    private static async Task<int> UploadForAsync(HttpClient client, TimeSpan duration, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var posted = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
        while (watch.Elapsed < duration && await timer.WaitForNextTickAsync(ct))
        {
            var seconds = watch.Elapsed.TotalSeconds;
            var half = duration.TotalSeconds / 2;
            var due = seconds < half ? 15 * seconds : (15 * half) + (40 * (seconds - half));
            while (posted < due)
            {
                var session = $"load-{posted % 6}";
                await Payloads.PostAcceptedAsync(client, session, posted / 6, Payloads.Make(session, posted, 400), ct);
                posted++;
            }
        }

        return posted;
    }

    /// <summary>Writes <paramref name="count"/> messages straight to the topic's DLQ, as a worker would.</summary>
    private async Task DeadLettersAsync(string topic, int count, CancellationToken ct)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(kafka.Configure(new ProducerConfig())).Build();
        for (var i = 0; i < count; i++)
        {
            await producer.ProduceAsync(IngestTopics.DeadLetterFor(topic), new Message<byte[], byte[]> { Key = [1], Value = [2] }, ct);
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Ingest.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Ingest.sln not found above the test's directory.");
    }
}
