using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>The status page, rendered by a real headless Chromium, shows the numbers the pipeline reports.</summary>
public sealed partial class StatusPageTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Page_rendered_in_Chromium_shows_the_lag_and_offsets_of_status_data()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        for (var seq = 0; seq < 9; seq++)
        {
            await Payloads.PostAcceptedAsync(client, $"status-{seq % 3}", seq / 3, Payloads.Make("status", seq, 400), ct);
        }

        // No worker yet: everything is lag, and the page must say so.
        using var anonymous = new HttpClient { BaseAddress = pipeline.Api.Address };
        // The first request wakes the background refresher; a later snapshot shows the posts.
        var data = await Eventually.UntilAsync(
            () => anonymous.GetFromJsonAsync<JsonElement>("/status/data", ct),
            d => d.GetProperty("totalLag") is { ValueKind: JsonValueKind.Number } lag && lag.GetInt64() == 9,
            TimeSpan.FromSeconds(30), d => $"status never showed the 9 posts: {d}", ct);
        Assert.Equal(9, data.GetProperty("acceptedByThisApi").GetInt64());

        var dom = await RenderAsync(new Uri(pipeline.Api.Address, "/status"), ct);

        Assert.Contains("data-loaded=\"true\"", dom, StringComparison.Ordinal);
        Assert.Equal("9", Element(dom, "total-lag"));
        Assert.Equal("0", Element(dom, "dlq-depth"));
        foreach (var partition in data.GetProperty("partitions").EnumerateArray())
        {
            var row = Regex.Match(dom, $"<tr data-partition=\"{partition.GetProperty("partition").GetInt32()}\"><td>\\d+</td><td>(\\d+)</td><td>[^<]*</td><td class=\"lag\">(\\d+)</td></tr>");
            Assert.True(row.Success, $"no row for partition {partition}");
            Assert.Equal(partition.GetProperty("end").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), row.Groups[1].Value);
            Assert.Equal(partition.GetProperty("lag").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), row.Groups[2].Value);
        }
    }

    private static string Element(string dom, string id) =>
        Regex.Match(dom, $"id=\"{id}\">([^<]*)<") is { Success: true } m ? m.Groups[1].Value : throw new Xunit.Sdk.XunitException($"#{id} not in the page");

    /// <summary>The DOM after the page's scripts ran, from Debian's Chromium (installed by tests/run.sh).</summary>
    private static async Task<string> RenderAsync(Uri page, CancellationToken cancellationToken)
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("Chromium is not installed: tests/run.sh installs Debian's 'chromium' package.");
        var profile = Directory.CreateTempSubdirectory("ingest-chromium-");
        try
        {
            using var process = Process.Start(new ProcessStartInfo(chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.FullName}", "--virtual-time-budget=5000",
                "--dump-dom", page.ToString(),
            ])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var dom = process.StandardOutput.ReadToEndAsync(cancellationToken);
            _ = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            return await dom;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }
}
