using System.Net;
using System.Text.Json;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Health;

/// <summary>The worker's <c>/readyz</c>: 200 once the start-up checks passed and the consumer is a member of its group.</summary>
public sealed class ReadinessTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Readyz_is_503_while_the_start_up_checks_wait_for_the_database()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        // Nothing listens on port 1: the migrations retry until the worker stops, so the checks never finish.
        var worker = await scenario.StartWorkerAsync(ct, "--ConnectionStrings:Ingest=Host=127.0.0.1;Port=1;Username=postgres;Database=x;Timeout=1");
        using var http = new HttpClient { BaseAddress = worker.Address };

        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var (status, body) = await ReadyzAsync(http, ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not ready", body.GetProperty("status").GetString());
        Assert.Contains("start-up checks", body.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, body.GetProperty("partitions").GetInt32());
        Assert.False(body.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Readyz_is_200_with_the_assignment_once_joined_and_a_member_without_partitions_is_ready_too()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var first = await scenario.StartWorkerAsync(ct, "--Kafka:group.protocol=classic");
        using var firstHttp = new HttpClient { BaseAddress = first.Address };

        var (_, firstBody) = await ReadyAsync(firstHttp, "first worker not ready", ct);
        Assert.Equal("ready", firstBody.GetProperty("status").GetString());
        Assert.Equal(1, firstBody.GetProperty("partitions").GetInt32());
        Assert.Equal($"{scenario.Topic}[0]", firstBody.GetProperty("assignment")[0].GetString());

        // One partition, two members: the second joins and holds nothing, which is ready (it takes over on a failover).
        var second = await scenario.StartWorkerAsync(ct, "--Kafka:group.protocol=classic");
        using var secondHttp = new HttpClient { BaseAddress = second.Address };
        var (_, secondBody) = await ReadyAsync(secondHttp, "second worker not ready", ct);
        var firstAfter = await ReadyAsync(firstHttp, "first worker not ready after the second joined", ct);
        Assert.Equal(1, secondBody.GetProperty("partitions").GetInt32() + firstAfter.Body.GetProperty("partitions").GetInt32());
    }

    [Fact]
    public async Task With_the_consumer_protocol_a_member_is_ready_once_it_holds_partitions_and_one_without_says_why_not()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var first = await scenario.StartWorkerAsync(ct, "--Kafka:group.protocol=consumer");
        using var firstHttp = new HttpClient { BaseAddress = first.Address };
        var (_, firstBody) = await ReadyAsync(firstHttp, "first worker not ready", ct);
        Assert.Equal(1, firstBody.GetProperty("partitions").GetInt32());

        // KIP-848: librdkafka reports no empty assignment, so the second member, holding nothing, cannot be told from
        // one still joining: 503, and the reason says so (documented in the contract).
        var second = await scenario.StartWorkerAsync(ct, "--Kafka:group.protocol=consumer");
        using var secondHttp = new HttpClient { BaseAddress = second.Address };
        var (status, body) = await Eventually.UntilAsync(
            () => ReadyzAsync(secondHttp, ct), r => r.Body.GetProperty("reason").GetString()!.Contains("group.protocol=consumer", StringComparison.Ordinal),
            Deadline, r => $"second worker: {r.Status} {r.Body}", ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(0, body.GetProperty("partitions").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await ReadyzAsync(firstHttp, ct)).Status);
    }

    /// <summary>Polls <c>/readyz</c> until it answers 200; fails after <see cref="Deadline"/> with <paramref name="notReady"/> and the last answer.</summary>
    private static Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(HttpClient http, string notReady, CancellationToken cancellationToken) =>
        Eventually.UntilAsync(
            () => ReadyzAsync(http, cancellationToken), r => r.Status == HttpStatusCode.OK, Deadline,
            r => $"{notReady}: {r.Status} {r.Body}", cancellationToken);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyzAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return (response.StatusCode, document.RootElement.Clone());
    }
}
