using System.Diagnostics;
using System.Globalization;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>
/// The API answering 503 for a while — every broker of its own mock cluster down, so produces time out after a short
/// <c>Api:DeliveryTimeout</c> — while a page records: the recorder backs off, and delivers everything in order once
/// the brokers are back.
/// </summary>
public sealed class RecorderOutageTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Recorder_backs_off_through_503s_and_delivers_everything_in_order_after_recovery()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = TestContext.Current.TestOutputHelper!;
        await using var site = await TestPage.StartAsync(ct);
        await using var pipeline = await OwnClusterPipeline.CreateAsync(postgres, partitions: 2, ct);
        await pipeline.StartAsync(
            ["--Api:DeliveryTimeout=00:00:02", "--Api:RetryAfterSeconds=1", $"--Ingest:Projects:p1:AllowedOrigins:0={site.Origin}"], ct);
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        const string session = "browser-outage";

        var page = await browser.NewPageAsync();
        var pageErrors = Chromium.CollectErrors(page);
        await page.GotoAsync(site.Url(pipeline.Api!.Address, session, OwnClusterPipeline.Key));
        await RecordedSession.FlushAsync(page); // the full snapshot is in before the outage
        // ... and stored: the worker has joined its group and consumes. The outage is the API's; a worker that joins
        // while every broker is down is WorkerJoinOutageTests' case.
        await pipeline.WaitForStoredAsync(1, TimeSpan.FromSeconds(60), "the snapshot was not stored in 60 s", ct);

        for (var broker = 1; broker <= pipeline.Cluster.BrokerCount; broker++)
        {
            pipeline.Cluster.SetBrokerDown(broker);
        }

        var outage = Stopwatch.StartNew();
        await RecordedSession.InteractAsync(page, "typed while the API answers 503");
        var until = DateTime.UtcNow.AddSeconds(60);
        RecorderStats during;
        while ((during = await RecordedSession.StatsAsync(page)).Retries < 3)
        {
            Assert.True(DateTime.UtcNow < until, $"the recorder retried only {during.Retries} times in 60 s of outage");
            await Task.Delay(200, ct); // polling a condition with a deadline
        }

        Assert.Equal(503, during.LastStatus);
        Assert.True(during.QueuedBatches >= 2, $"only {during.QueuedBatches} batches queued during the outage");
        var outageTime = outage.Elapsed;
        for (var broker = 1; broker <= pipeline.Cluster.BrokerCount; broker++)
        {
            pipeline.Cluster.SetBrokerUp(broker);
        }

        var recovery = Stopwatch.StartNew();
        var stats = await RecordedSession.StopAsync(page);
        recovery.Stop();

        Assert.Equal(0, stats.DroppedEvents);
        Assert.Equal(stats.EventsRecorded, stats.EventsSent);
        Assert.Equal(202, stats.LastStatus);
        Assert.DoesNotContain("refused", await RecordedSession.ErrorsAsync(page), StringComparison.Ordinal);
        Assert.DoesNotContain(pageErrors, e => !e.Contains("503", StringComparison.Ordinal)); // Chromium logs each 503 response

        await pipeline.WaitForStoredAsync(
            stats.BatchesSent, TimeSpan.FromSeconds(120), $"not all {stats.BatchesSent} batches stored 120 s after the brokers came back", ct);

        using var reader = pipeline.Client();
        var stored = await RecordedSession.ReadStoredAsync(reader, session, ct);
        Assert.Equal(Enumerable.Range(0, (int)stats.BatchesSent).Select(i => (long)i), stored.Select(s => s.Seq));
        var events = stored.SelectMany(s => s.Events).ToList();
        Assert.Equal(stats.EventsSent, events.Count);
        Assert.Contains(events, e => RecorderTests.IsInput(e, RecorderTests.Masked("typed while the API answers 503"))); // inputs are masked by default
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"outage {outageTime.TotalSeconds:F1} s: {during.Retries} retries by then " +
            $"(last delay {during.LastRetryDelayMs} ms), {during.QueuedBatches} batches queued; {stats.Retries} retries in all; " +
            $"drained {stats.BatchesSent} batches / {stats.EventsSent} events {recovery.Elapsed.TotalSeconds:F1} s after the brokers came back"));
    }
}
