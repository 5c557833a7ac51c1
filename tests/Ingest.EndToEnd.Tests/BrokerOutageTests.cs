using System.Diagnostics;
using System.Net;
using System.Text;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// Every broker down: posts get 503 with Retry-After within the delivery timeout, never 202 and never a hang;
/// brokers back: posts succeed, nothing 202'd is missing, and the retried ones are stored once. Runs on a mock
/// cluster of its own (<see cref="OwnClusterPipeline"/>).
/// </summary>
public sealed class BrokerOutageTests(PostgresFixture postgres)
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Small JSON, except seq 9: four chunks, so an upload fails mid-stream during the outage.</summary>
    private static byte[] Body(long seq) => seq == 9
        ? PacedUpload.Block(9, 1_000_000)
        : Encoding.UTF8.GetBytes($"{{\"seq\":{seq},\"pad\":\"{new string('x', 300 * (int)seq)}\"}}");

    [Fact]
    public async Task Brokers_down_is_503_within_the_timeout_and_retries_after_recovery_are_stored_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await OwnClusterPipeline.CreateAsync(postgres, partitions: 4, ct);
        await pipeline.StartAsync([$"--Api:DeliveryTimeout={DeliveryTimeout}"], ct);
        using var client = pipeline.Client();
        for (var seq = 0; seq < 5; seq++)
        {
            await Payloads.PostAcceptedAsync(client, "outage", seq, Body(seq), ct);
        }

        for (var broker = 1; broker <= pipeline.Cluster.BrokerCount; broker++)
        {
            pipeline.Cluster.SetBrokerDown(broker);
        }

        var refused = await Task.WhenAll(Enumerable.Range(5, 5).Select(async seq =>
        {
            var started = Stopwatch.StartNew();
            using var response = await Payloads.PostAsync(client, "outage", seq, Body(seq), ct);
            return (Status: response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, started.Elapsed,
                Type: response.Content.Headers.ContentType?.MediaType);
        }));

        Assert.All(refused, r =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.Status);
            Assert.Equal("application/problem+json", r.Type);
            Assert.NotNull(r.RetryAfter);
            // message.timeout.ms, plus the publisher's 5 s report grace, plus scheduling slack on two shared cores.
            Assert.True(r.Elapsed < DeliveryTimeout + TimeSpan.FromSeconds(10), $"503 after {r.Elapsed}");
        });

        for (var broker = 1; broker <= pipeline.Cluster.BrokerCount; broker++)
        {
            pipeline.Cluster.SetBrokerUp(broker);
        }

        for (var seq = 5; seq < 12; seq++)
        {
            await Payloads.PostAcceptedAsync(client, "outage", seq, Body(seq), ct); // 5-9 retried, 10-11 new
        }

        await pipeline.WaitForStoredAsync(12, TimeSpan.FromSeconds(120), "not all 12 stored 120 s after the outage", ct);

        Assert.Equal(12, await pipeline.StoredCountAsync(ct));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), (await Payloads.ListSeqsAsync(client, "outage", 100, ct)).Order());
        for (var seq = 0; seq < 12; seq++)
        {
            Assert.Equal(Body(seq), await client.GetByteArrayAsync($"/v1/sessions/outage/payloads/{seq}", ct));
        }
    }
}
