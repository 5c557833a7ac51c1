using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>The recorder's counters (<c>handle.stats()</c>), as the page reports them.</summary>
public sealed record RecorderStats(
    long EventsRecorded, long BytesRecorded, long EventsSent, long BatchesSent, long BytesSent, long Retries,
    long LastRetryDelayMs, int LastStatus, long DroppedEvents, long DroppedBatches, long KeepaliveFlushes,
    int QueuedBatches, bool InFlight, long NextSeq);

/// <summary>What a test does with the recorder on a page and with what the API stored of it.</summary>
public static class RecordedSession
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static async Task<RecorderStats> StatsAsync(IPage page) =>
        (await page.EvaluateAsync<JsonElement>("() => window.recorder.stats()")).Deserialize<RecorderStats>(Web)!;

    /// <summary>
    /// Seals what is recorded and waits until the recorder has nothing queued or in flight, again until no event
    /// arrived meanwhile (rrweb emits throttled scroll and mouse events a little after the action).
    /// </summary>
    public static async Task<RecorderStats> FlushAsync(IPage page)
    {
        var until = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var stats = (await page.EvaluateAsync<JsonElement>("() => window.recorder.flush().then(() => window.recorder.stats())"))
                .Deserialize<RecorderStats>(Web)!;
            if (stats.EventsRecorded == stats.EventsSent + stats.DroppedEvents)
            {
                return stats;
            }

            Assert.True(DateTime.UtcNow < until, $"the recorder did not settle in 120 s: {stats}");
            await page.WaitForTimeoutAsync(200); // polling a condition with a deadline
        }
    }

    /// <summary>Stops recording and waits until everything recorded is accepted or dropped: the final counters.</summary>
    public static async Task<RecorderStats> StopAsync(IPage page)
    {
        await FlushAsync(page);
        return (await page.EvaluateAsync<JsonElement>("() => window.recorder.stop().then(() => window.recorder.stats())")).Deserialize<RecorderStats>(Web)!;
    }

    public static async Task<string> ErrorsAsync(IPage page) =>
        (await page.EvaluateAsync<JsonElement>("() => window.recorderErrors")).GetRawText();

    /// <summary>A user's few seconds: clicks, typing (about 80 ms a key) and scrolling; the pauses pace the user, they synchronise nothing.</summary>
    public static async Task InteractAsync(IPage page, string text)
    {
        for (var i = 0; i < 3; i++)
        {
            await page.ClickAsync("#add");
        }

        await page.Locator("#name").PressSequentiallyAsync(text, new() { Delay = 80 });
        for (var i = 0; i < 6; i++)
        {
            await page.Mouse.WheelAsync(0, 400);
            await page.WaitForTimeoutAsync(150);
        }

        await page.ClickAsync("#add");
    }

    /// <summary>Every stored payload of the session, in stored (applied) order, decoded as the recorder's batches.</summary>
    public static async Task<List<(long Seq, List<JsonElement> Events)>> ReadStoredAsync(
        HttpClient reader, string sessionId, CancellationToken cancellationToken)
    {
        var stored = new List<(long, List<JsonElement>)>();
        foreach (var seq in await Payloads.ListSeqsAsync(reader, sessionId, 7, cancellationToken))
        {
            var bytes = await reader.GetByteArrayAsync(
                string.Create(CultureInfo.InvariantCulture, $"/v1/sessions/{sessionId}/payloads/{seq}"), cancellationToken);
            using var batch = JsonDocument.Parse(bytes);
            Assert.Equal(1, batch.RootElement.GetProperty("v").GetInt32());
            var events = batch.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList();
            Assert.All(events, e =>
            {
                Assert.True(e.GetProperty("type").GetInt32() is >= 0 and <= 6, $"not an rrweb event type: {e}");
                Assert.True(e.GetProperty("timestamp").GetInt64() > 0);
            });
            stored.Add((seq, events));
        }

        return stored;
    }
}
