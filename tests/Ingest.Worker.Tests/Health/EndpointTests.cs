using System.Net;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Health;

/// <summary>/healthz and /metrics on the worker's own port.</summary>
public sealed class EndpointTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Healthz_answers_and_metrics_count_stored_payloads_bytes_and_lag()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 2, ct);
        var worker = await scenario.StartWorkerAsync(ct);
        using var http = new HttpClient { BaseAddress = worker.Address };

        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        var bytes = new byte[1000];
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("m", 0, bytes), bytes, ct);
        await scenario.Database.WaitForCountAsync(1, ct);
        var metrics = await Eventually.UntilAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct),
            text => Lines(text, "ingest_worker_consumer_lag").Any() && Lines(text, "ingest_worker_payloads_stored").Any()
                && Lines(text, "ingest_worker_commit_duration_seconds_count").Any(), // the stored offset's commit follows the row
            TimeSpan.FromSeconds(20), text => $"metrics lack the worker's series:\n{text}", ct);

        Assert.EndsWith(" 1", Lines(metrics, "ingest_worker_payloads_stored_total").Single(), StringComparison.Ordinal);
        Assert.Single(Lines(metrics, "ingest_worker_stored_bytes_total"));
        Assert.NotEmpty(Lines(metrics, "ingest_worker_batch_duration_seconds_count"));
        Assert.NotEmpty(Lines(metrics, "ingest_worker_end_to_end_latency_seconds_count"));
        Assert.EndsWith(" 1", Lines(metrics, "ingest_worker_fetch_delay_seconds_count").Single(), StringComparison.Ordinal);
        // Buckets in seconds, not OpenTelemetry's default 0, 5, 10 … (meant for milliseconds).
        foreach (var name in new[]
                 {
                     "ingest_worker_batch_duration_seconds", "ingest_worker_end_to_end_latency_seconds", "ingest_worker_commit_duration_seconds",
                     "ingest_worker_fetch_delay_seconds", "ingest_worker_transaction_wait_seconds", "ingest_worker_transaction_duration_seconds",
                 })
        {
            Assert.Contains(Lines(metrics, name + "_bucket"), l => l.Contains("le=\"0.01\"", StringComparison.Ordinal));
            Assert.DoesNotContain(Lines(metrics, name + "_bucket"), l => l.Contains("le=\"7500\"", StringComparison.Ordinal));
        }

        Assert.Contains(Lines(metrics, "ingest_worker_commit_duration_seconds_count"), l => l.Contains("outcome=\"committed\"", StringComparison.Ordinal));
        Assert.DoesNotContain(Lines(metrics, "ingest_worker_commit_duration_seconds_count"), l => l.Contains("outcome=\"failed\"", StringComparison.Ordinal));

        IEnumerable<string> Lines(string text, string name) => text.Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(scenario.Topic, StringComparison.Ordinal));
    }
}
