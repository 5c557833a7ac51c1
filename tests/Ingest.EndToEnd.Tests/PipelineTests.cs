using System.Net;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>The whole pipeline on real components: HTTP → API → Kafka → worker → Postgres → HTTP.</summary>
public sealed class PipelineTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Two_hundred_sessions_of_twenty_payloads_are_stored_once_in_order_and_read_back_identical()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 12, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        var sessions = Enumerable.Range(0, 200).Select(i => $"s{i:D3}-{Guid.NewGuid():N}"[..20]).ToArray();
        var sizes = new Random(42);
        var bodies = sessions.ToDictionary(s => s, s => Enumerable.Range(0, 20)
            .Select(seq => Payloads.Make(s, seq, sizes.Next(512, 8192))).ToArray());

        // Sessions concurrently; each session's payloads one after another, as a recording client sends them.
        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 200, CancellationToken = ct },
            async (session, token) =>
            {
                for (var seq = 0; seq < 20; seq++)
                {
                    await Payloads.PostAcceptedAsync(client, session, seq, bodies[session][seq], token);
                }
            });

        await pipeline.WaitForStoredAsync(4000, TimeSpan.FromSeconds(90), ct);
        Assert.Equal(4000, await pipeline.StoredCountAsync(ct));
        await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (session, token) =>
            {
                Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), await Payloads.ListSeqsAsync(client, session, 7, token));
                for (var seq = 0; seq < 20; seq++)
                {
                    using var response = await client.GetAsync($"/v1/sessions/{session}/payloads/{seq}", token);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
                    Assert.Equal(bodies[session][seq], await response.Content.ReadAsByteArrayAsync(token));
                }
            });
    }

    [Fact]
    public async Task A_worker_stopped_mid_run_and_a_new_one_started_still_store_everything_once_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 6, ct);
        var first = await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        var sessions = Enumerable.Range(0, 30).Select(i => $"restart-{i}").ToArray();
        const int PerSession = 30;

        var sending = Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = 30, CancellationToken = ct },
            async (session, token) =>
            {
                for (var seq = 0; seq < PerSession; seq++)
                {
                    await Payloads.PostAcceptedAsync(client, session, seq, Payloads.Make(session, seq, 2048), token);
                }
            });

        // Stop the first worker while payloads are still arriving, then start a replacement.
        await pipeline.WaitForStoredAsync(200, TimeSpan.FromSeconds(60), ct);
        await first.StopAsync();
        await pipeline.StartWorkerAsync(ct);
        await sending;

        await pipeline.WaitForStoredAsync(sessions.Length * PerSession, TimeSpan.FromSeconds(90), ct);
        Assert.Equal(sessions.Length * PerSession, await pipeline.StoredCountAsync(ct));
        foreach (var session in sessions)
        {
            Assert.Equal(Enumerable.Range(0, PerSession).Select(i => (long)i), await Payloads.ListSeqsAsync(client, session, 100, ct));
        }
    }
}
