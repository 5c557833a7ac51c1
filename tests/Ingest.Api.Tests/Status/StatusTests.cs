using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Status;

/// <summary>/status/data serves the background refresher's last snapshot: a broker that does not answer never holds a request.</summary>
public sealed class StatusTests(KafkaFixture kafka)
{
    [Fact]
    public async Task With_a_broker_that_never_answers_40_concurrent_status_requests_and_healthz_answer_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var broker = new SilentBroker();
        await using var api = await ApiHost.StartAsync(broker.BootstrapServers, new Dictionary<string, string>(), "t", Http.UnusedDatabase, null, ct);
        using var client = api.Client();
        client.Timeout = TimeSpan.FromSeconds(30);

        // The first request wakes the refresher, whose Kafka calls then hang on the silent broker for their 5 s timeouts.
        using (var first = await client.GetAsync("/status/data", ct))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var all = Stopwatch.StartNew();
        var status = Enumerable.Range(0, 40).Select(_ => TimedAsync(client, "/status/data", ct)).ToList();
        var healthz = TimedAsync(client, "/healthz", ct);
        var answers = await Task.WhenAll([.. status, healthz]);
        all.Stop();

        TestContext.Current.TestOutputHelper!.WriteLine(
            $"40 × /status/data + /healthz with a silent broker: all answered in {all.ElapsedMilliseconds} ms, slowest " +
            $"{answers.Max(a => a.Elapsed.TotalMilliseconds):F0} ms, /healthz {(await healthz).Elapsed.TotalMilliseconds:F0} ms");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        // Generous: on the old code each request waited for the Kafka timeouts in turn (/healthz took 13.7 s).
        Assert.All(answers, a => Assert.True(a.Elapsed < TimeSpan.FromSeconds(2), $"answered in {a.Elapsed}"));

        // The refresher's failure is reported, not waited for: no snapshot, the error and no numbers.
        var data = await Eventually.UntilAsync(
            () => client.GetFromJsonAsync<JsonElement>("/status/data", ct),
            d => d.GetProperty("lastError").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(60), d => $"no lastError in {d}", ct);
        Assert.Equal(JsonValueKind.Null, data.GetProperty("at").ValueKind);
        Assert.Equal(JsonValueKind.Null, data.GetProperty("totalLag").ValueKind);
        Assert.Equal(0, data.GetProperty("partitions").GetArrayLength());
        Assert.Equal("t", data.GetProperty("topic").GetString());
    }

    [Fact]
    public async Task Snapshot_of_a_live_broker_is_fresh_and_has_no_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-status", 3, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client();

        var data = await Eventually.UntilAsync(
            () => client.GetFromJsonAsync<JsonElement>("/status/data", ct),
            d => d.GetProperty("at").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(30), d => $"no snapshot in {d}", ct);

        Assert.Equal(topic, data.GetProperty("topic").GetString());
        Assert.Equal(3, data.GetProperty("partitions").GetArrayLength());
        Assert.Equal(0, data.GetProperty("totalLag").GetInt64());
        Assert.InRange(data.GetProperty("ageSeconds").GetDouble(), 0, 10);
        Assert.Equal(JsonValueKind.Null, data.GetProperty("lastError").ValueKind);
        // No lag, so nothing unstored.
        Assert.Equal(JsonValueKind.Null, data.GetProperty("oldestUnstoredAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, data.GetProperty("oldestUnstoredAgeSeconds").ValueKind);

        // The snapshot is in the history the page's charts start from, with its lag per partition.
        var history = await client.GetFromJsonAsync<JsonElement>("/status/history", ct);
        var sample = history.EnumerateArray().Last();
        Assert.Equal(3, sample.GetProperty("lags").EnumerateObject().Count());
        Assert.True(sample.GetProperty("at").GetDateTimeOffset() >= data.GetProperty("at").GetDateTimeOffset());
    }

    [Fact]
    public async Task Favicons_are_served_anonymously_as_images_and_cacheable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ApiHost.StartAsync(kafka, "favicon", Http.UnusedDatabase, ct);
        using var client = api.Client();

        foreach (var (path, type) in new[] { ("/favicon.ico", "image/x-icon"), ("/favicon.svg", "image/svg+xml") })
        {
            using var response = await client.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("public, max-age=86400", response.Headers.CacheControl?.ToString());
            var etag = response.Headers.ETag ?? throw new Xunit.Sdk.XunitException($"{path}: no ETag");

            using var again = new HttpRequestMessage(HttpMethod.Get, path);
            again.Headers.IfNoneMatch.Add(etag);
            using var revalidated = await client.SendAsync(again, ct);
            Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        }

        using var ico = await client.GetAsync("/favicon.ico", ct);
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, (await ico.Content.ReadAsByteArrayAsync(ct))[..4]); // an ICO header
    }

    private static async Task<(HttpStatusCode Status, TimeSpan Elapsed)> TimedAsync(HttpClient client, string path, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        using var response = await client.GetAsync(path, ct);
        return (response.StatusCode, watch.Elapsed);
    }
}
