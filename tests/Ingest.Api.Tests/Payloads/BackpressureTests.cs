using System.Net;
using Ingest.Api.Backpressure;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Api.Tests.Payloads;

/// <summary>The in-flight byte budget: new uploads beyond it get 429 while those in progress finish.</summary>
public sealed class BackpressureTests(KafkaFixture kafka)
{
    private const int ChunkBytes = 262_144;
    private const int Holders = 6;

    [Fact]
    public async Task New_uploads_beyond_the_budget_get_429_while_those_in_progress_finish()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-budget", 4, ct);
        // The smallest budget allowed for 256 KiB chunks and 4 in flight: exactly six chunks.
        await using var api = await ApiHost.StartAsync(
            kafka, topic, Http.UnusedDatabase, ct, $"--Api:ChunkBytes={ChunkBytes}", "--Api:ChunksInFlight=4", $"--Api:InFlightBudgetBytes={ChunkBytes * Holders}",
            "--Api:ProjectLimits:BudgetShare=1"); // the whole budget for one project: FairnessTests cover the shares
        var budget = api.App.Services.GetRequiredService<InFlightBudget>();
        var bodies = Enumerable.Range(0, Holders).Select(i => ChunkingTests.Mixed(700_000, 100 + i)).ToArray();

        // Each holder sends just under one chunk and pauses: its bytes are read, not yet produced, so they hold budget.
        var holders = new List<RawHttp>();
        for (var i = 0; i < Holders; i++)
        {
            var raw = await RawHttp.ConnectAsync(api.Address, ct);
            holders.Add(raw);
            await raw.SendAsync(RawHttp.PostHead($"holder-{i}", 0, bodies[i].Length), ct);
            await raw.SendAsync(bodies[i].AsMemory(0, ChunkBytes - 100), ct);
            var expected = (long)(i + 1) * (ChunkBytes - 100);
            await Eventually.TrueAsync(() => budget.InFlight >= expected, TimeSpan.FromSeconds(30), $"holder {i} read", ct);
        }

        using var client = api.Client(ApiHost.IngestReadKey);
        using (var refused = await client.SendAsync(Http.Post("newcomer", "0", ChunkingTests.Mixed(70_000, 1), "application/octet-stream"), ct))
        {
            await Http.AssertProblemAsync(refused, 429, "inflight-budget-spent");
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        }

        // The holders go on: each needs more budget than is free, flushes what it holds, waits, and finishes.
        foreach (var (raw, i) in holders.Select((raw, i) => (raw, i)))
        {
            await raw.SendAsync(bodies[i].AsMemory(ChunkBytes - 100), ct);
        }

        foreach (var raw in holders)
        {
            Assert.Equal(202, await raw.ReadStatusAsync(ct));
            await raw.DisposeAsync();
        }

        await Eventually.TrueAsync(() => budget.InFlight == 0, TimeSpan.FromSeconds(30), "budget back to 0", ct);
        using (var later = await client.SendAsync(Http.Post("newcomer", "0", ChunkingTests.Mixed(70_000, 1), "application/octet-stream"), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        }

        var produced = ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out var incomplete);
        Assert.Empty(incomplete);
        Assert.Equal(Holders + 1, produced.Count);
        foreach (var (body, i) in bodies.Select((b, i) => (b, i)))
        {
            Assert.Equal(body, Assert.Single(produced, p => p.Last.SessionId == $"holder-{i}").Bytes);
        }
    }
}
