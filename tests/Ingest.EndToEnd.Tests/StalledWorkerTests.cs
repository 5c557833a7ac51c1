using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// The only worker stopped for 60 s while recording clients keep posting, on the embedded broker (librdkafka's mock
/// cluster, ~5 MiB kept per partition, <see cref="OwnClusterPipeline"/>): the API answers 503 once a partition holds
/// what the broker can keep, instead of accepting payloads the broker would drop; after the worker is back, every
/// payload that got a 202 is stored, byte-identical, in its session's order.
/// </summary>
public sealed class StalledWorkerTests(PostgresFixture postgres)
{
    private const int Sessions = 8;
    private const int PayloadBytes = 128 * 1024;
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Workers_stopped_60_s_under_load_make_the_api_answer_503_and_lose_nothing_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await OwnClusterPipeline.CreateAsync(postgres, partitions: 4, ct);
        await pipeline.StartAsync(["--Api:RetryAfterSeconds=1"], ct);
        using var client = pipeline.Client();
        var accepted = new ConcurrentDictionary<(string Session, long Seq), DateTimeOffset>();
        var refusals = new ConcurrentBag<(DateTimeOffset At, string Type)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clients = Enumerable.Range(0, Sessions).Select(i => PostLoopAsync(client, $"stall-{i}", accepted, refusals, stop.Token)).ToList();
        try
        {
            await Eventually.UntilAsync(() => pipeline.StoredCountAsync(ct), n => n >= 50, TimeSpan.FromSeconds(60), n => $"warm-up: {n} stored", ct);

            await pipeline.StopWorkerAsync();
            var stalled = DateTimeOffset.UtcNow;
            await Task.Delay(Stall, ct); // the fault's length, not synchronisation
            var resumed = DateTimeOffset.UtcNow;
            await pipeline.StartWorkerAsync(ct);
            var acceptedDuringStall = accepted.Count(a => a.Value > stalled && a.Value < resumed);
            var backlogFull = refusals.Count(r => r.At > stalled && r.Type == "urn:ingest:problem:backlog-full");
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"during the {Stall.TotalSeconds:0} s stall: {acceptedDuringStall} accepted, {backlogFull} answered 503 backlog-full; " +
                $"refusals by type: {string.Join(", ", refusals.GroupBy(r => r.Type).Select(g => $"{g.Key}={g.Count()}"))}");
            Assert.True(backlogFull > 0, "The API never answered 503 backlog-full while no worker stored anything.");

            await Eventually.UntilAsync(
                () => Task.FromResult(accepted.Count(a => a.Value > resumed)), n => n >= 40, TimeSpan.FromSeconds(90),
                n => $"recovery: {n} accepted after the worker came back", ct);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients);
        }

        var expected = accepted.Keys.ToList();
        await Eventually.UntilAsync(
            () => pipeline.StoredCountAsync(ct), n => n >= expected.Count, TimeSpan.FromMinutes(2), n => $"drain: {n} of {expected.Count} stored", ct);
        foreach (var session in expected.GroupBy(k => k.Session))
        {
            var seqs = await Payloads.ListSeqsAsync(client, session.Key, 1000, ct);
            var acceptedSeqs = session.Select(k => k.Seq).Order().ToList();
            Assert.Equal(acceptedSeqs, seqs.Where(acceptedSeqs.Contains).ToList()); // each once, in order
            foreach (var seq in acceptedSeqs)
            {
                Assert.Equal(Payloads.Make(session.Key, seq, PayloadBytes), await client.GetByteArrayAsync($"/v1/sessions/{session.Key}/payloads/{seq}", ct));
            }
        }
    }

    /// <summary>A recording client: one payload after another, each retried with the same seq on 503 after Retry-After.</summary>
    private static async Task PostLoopAsync(
        HttpClient client,
        string session,
        ConcurrentDictionary<(string, long), DateTimeOffset> accepted,
        ConcurrentBag<(DateTimeOffset, string)> refusals,
        CancellationToken stop)
    {
        for (long seq = 0; !stop.IsCancellationRequested; seq++)
        {
            var body = Payloads.Make(session, seq, PayloadBytes);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await Payloads.PostAsync(client, session, seq, body, stop);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        accepted[(session, seq)] = DateTimeOffset.UtcNow;
                        break;
                    }

                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(stop));
                    refusals.Add((DateTimeOffset.UtcNow, problem.RootElement.GetProperty("type").GetString()!));
                    await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), stop); // the client honours Retry-After
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return; // an unanswered post may or may not be stored; it is not in 'accepted'
                }
            }
        }
    }
}
