using System.Net;
using Ingest.Api.Backpressure;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Api.Tests.Limits;

/// <summary>
/// The in-flight budget's shares through the real API: uploads of p1 that drip and go silent hold at most p1's share
/// (new p1 posts get 429 <c>inflight-share-spent</c>), p2 is accepted meanwhile, and the silent uploads are ended with 408
/// after the idle timeout, which gives their budget back.
/// </summary>
public sealed class BudgetShareTests(KafkaFixture kafka)
{
    private const int ChunkBytes = 256 * 1024;
    private const long Budget = 8L * ChunkBytes; // 2 MiB; p1's share of 0.25 is 512 KiB
    private const int Drip = 255 * 1024;

    [Fact]
    public async Task Silent_uploads_of_one_project_hold_only_its_share_and_end_with_408()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-share", 2, ct);
        await using var api = await ApiHost.StartAsync(
            kafka, topic, Http.UnusedDatabase, ct, $"--Api:InFlightBudgetBytes={Budget}", "--Api:UploadIdleTimeout=00:00:02", "--Api:ProjectLimits:BudgetShare=0.25");
        var budget = api.App.Services.GetRequiredService<InFlightBudget>();
        var p1Account = budget.For(ApiHost.Project);
        Assert.Equal(Budget / 4, p1Account.Cap);

        var drippers = new List<RawHttp>();
        for (var i = 0; i < 2; i++)
        {
            var raw = await RawHttp.ConnectAsync(api.Address, ct);
            drippers.Add(raw);
            await raw.SendAsync(RawHttp.PostHead($"drip-{i}", 0, 10_000_000), ct);
            await raw.SendAsync(new byte[Drip], ct);
            var expected = (i + 1L) * Drip;
            await Eventually.TrueAsync(() => p1Account.Used >= expected, TimeSpan.FromSeconds(10), $"dripper {i} read", ct);
        }

        var silentSince = DateTime.UtcNow;
        using (var p1 = api.Client(ApiHost.IngestReadKey))
        using (var refused = await p1.SendAsync(Http.Post("p1-new", "0", Payloads.ChunkingTests.Mixed(100_000, 1), "application/octet-stream"), ct))
        {
            await Http.AssertProblemAsync(refused, 429, "inflight-share-spent");
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        using (var p2 = api.Client(ApiHost.OtherProjectKey))
        {
            for (var i = 0; i < 5; i++)
            {
                using var accepted = await p2.SendAsync(
                    Http.Post("p2", i.ToString(System.Globalization.CultureInfo.InvariantCulture), Payloads.ChunkingTests.Mixed(300_000, i), "application/octet-stream"), ct);
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
                Assert.InRange(budget.InFlight, 0, Budget);
                Assert.InRange(p1Account.Used, 0, p1Account.Cap);
            }
        }

        foreach (var raw in drippers)
        {
            Assert.Equal(408, await raw.ReadStatusAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct));
            await raw.DisposeAsync();
        }

        Assert.True(DateTime.UtcNow - silentSince < TimeSpan.FromSeconds(10), "the silent uploads were not ended near the idle timeout");
        await Eventually.TrueAsync(() => p1Account.Used == 0 && budget.InFlight == 0, TimeSpan.FromSeconds(10), "budget returned", ct);
        using (var p1 = api.Client(ApiHost.IngestReadKey))
        using (var accepted = await p1.SendAsync(Http.Post("p1-new", "0", Payloads.ChunkingTests.Mixed(100_000, 1), "application/octet-stream"), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        var complete = ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out _);
        Assert.DoesNotContain(complete, p => p.Last.SessionId.StartsWith("drip-", StringComparison.Ordinal));
    }
}
