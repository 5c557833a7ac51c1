using System.Net;
using Ingest.Api.Backpressure;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Api.Tests.Limits;

/// <summary>
/// Per-project and per-key limits through the real API on the test broker: the abusive project (p1) is answered 429
/// with a distinct problem type and Retry-After, the other project (p2) is not touched.
/// </summary>
public sealed class ProjectLimitTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Uploads_beyond_the_projects_concurrency_get_429_and_another_project_202()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartAsync(ct, "--Ingest:Projects:p1:Limits:MaxConcurrentUploads=2", "--Api:UploadIdleTimeout=00:01:00");
        var held = await HoldAsync(api, ApiHost.IngestReadKey, 2, ct);

        using var p1 = api.Client(ApiHost.IngestReadKey);
        using (var refused = await p1.SendAsync(Http.Post("s-third", "0", "{}"u8.ToArray()), ct))
        {
            var problem = await Http.AssertProblemAsync(refused, 429, "concurrency-limit");
            Assert.Equal("project", problem.GetProperty("scope").GetString());
            Assert.Equal(2, problem.GetProperty("limit").GetDouble());
            Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        }

        using var p2 = api.Client(ApiHost.OtherProjectKey);
        for (var i = 0; i < 5; i++)
        {
            using var accepted = await p2.SendAsync(Http.Post("s-other", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "{}"u8.ToArray()), ct);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await ReleaseAsync(held);
        await Eventually.TrueAsync(
            async () =>
            {
                using var again = await p1.SendAsync(Http.Post("s-after", "0", "{}"u8.ToArray()), ct);
                return again.StatusCode == HttpStatusCode.Accepted;
            },
            TimeSpan.FromSeconds(10),
            "p1 admitted again once its uploads ended",
            ct);
    }

    [Fact]
    public async Task A_keys_own_limit_refuses_that_key_only()
    {
        var ct = TestContext.Current.CancellationToken;
        // Key 2 of p1 is the ingest-only key (TestApiKeys): a public browser key held to one upload at a time.
        await using var api = await StartAsync(ct, "--Ingest:Projects:p1:Keys:2:Limits:MaxConcurrentUploads=1", "--Api:UploadIdleTimeout=00:01:00");
        var held = await HoldAsync(api, ApiHost.IngestOnlyKey, 1, ct);

        using (var browser = api.Client(ApiHost.IngestOnlyKey))
        using (var refused = await browser.SendAsync(Http.Post("s-key", "0", "{}"u8.ToArray()), ct))
        {
            var problem = await Http.AssertProblemAsync(refused, 429, "concurrency-limit");
            Assert.Equal("key", problem.GetProperty("scope").GetString());
        }

        using (var server = api.Client(ApiHost.IngestReadKey))
        using (var accepted = await server.SendAsync(Http.Post("s-server", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await ReleaseAsync(held);
    }

    [Fact]
    public async Task Posts_beyond_the_projects_request_rate_get_429_with_retry_after_and_another_project_202()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartAsync(
            ct, "--Ingest:Projects:p1:Limits:RequestsPerSecond=0.2", "--Ingest:Projects:p1:Limits:RequestBurst=3");
        using var p1 = api.Client(ApiHost.IngestReadKey);
        using var p2 = api.Client(ApiHost.OtherProjectKey);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await p1.SendAsync(Http.Post("s-rate", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "{}"u8.ToArray()), ct);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var problem = await Http.AssertProblemAsync(response, 429, "rate-limit");
                Assert.Equal("project", problem.GetProperty("scope").GetString());
                Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
            }

            using var other = await p2.SendAsync(Http.Post("s-rate-other", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "{}"u8.ToArray()), ct);
            Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task A_projects_byte_rate_slows_its_uploads_and_refuses_new_ones_while_its_bucket_is_empty()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartAsync(ct, "--Ingest:Projects:p1:Limits:BytesPerSecond=262144");
        using var p1 = api.Client(ApiHost.IngestReadKey);
        var body = Payloads.ChunkingTests.Mixed(1_000_000, 3);

        var started = TimeProvider.System.GetTimestamp();
        var upload = p1.SendAsync(Http.Post("s-bytes", "0", body, "application/octet-stream"), ct);
        await Eventually.TrueAsync(() => api.App.Services.GetRequiredService<InFlightBudget>().For("p1").Used > 0 || upload.IsCompleted, TimeSpan.FromSeconds(10), "upload under way", ct);
        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await p1.SendAsync(Http.Post("s-bytes-new", "0", "{}"u8.ToArray()), ct);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    await Http.AssertProblemAsync(response, 429, "byte-rate-limit");
                    return true;
                }

                return false;
            },
            TimeSpan.FromSeconds(10),
            "a new p1 upload refused while its byte bucket is empty",
            ct);

        using (var p2 = api.Client(ApiHost.OtherProjectKey))
        using (var other = await p2.SendAsync(Http.Post("s-bytes-other", "0", body, "application/octet-stream"), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
        }

        using (var done = await upload)
        {
            Assert.Equal(HttpStatusCode.Accepted, done.StatusCode);
        }

        // 1 MB at 256 KiB/s with a bucket of one second: at least ~2.8 s.
        Assert.True(TimeProvider.System.GetElapsedTime(started) > TimeSpan.FromSeconds(2.5), "the upload was not slowed to the project's byte rate");
    }

    private async Task<ApiHost> StartAsync(CancellationToken ct, params string[] args)
    {
        var topic = await kafka.CreateTopicAsync("api-limits", 2, ct);
        return await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, args);
    }

    /// <summary>Opens <paramref name="count"/> uploads with <paramref name="key"/> that send 1,000 bytes of 1 MB and wait.</summary>
    private static async Task<List<RawHttp>> HoldAsync(ApiHost api, string key, int count, CancellationToken ct)
    {
        var budget = api.App.Services.GetRequiredService<InFlightBudget>();
        var before = budget.InFlight;
        var held = new List<RawHttp>();
        for (var i = 0; i < count; i++)
        {
            var raw = await RawHttp.ConnectAsync(api.Address, ct);
            held.Add(raw);
            await raw.SendAsync(RawHttp.PostHead($"s-held-{i}", 0, 1_000_000, key), ct);
            await raw.SendAsync(new byte[1000], ct);
            var expected = before + ((i + 1) * 1000L);
            await Eventually.TrueAsync(() => budget.InFlight >= expected, TimeSpan.FromSeconds(10), $"upload {i} under way", ct);
        }

        return held;
    }

    private static async Task ReleaseAsync(List<RawHttp> held)
    {
        foreach (var raw in held)
        {
            raw.Reset();
            await raw.DisposeAsync();
        }
    }
}
