using System.Net;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Lifecycle;

/// <summary>Without Postgres the API still takes posts; erasures answer 503; the cache catches up once the database is back.</summary>
public sealed class ErasureOutageTests(KafkaFixture kafka)
{
    [Fact]
    public async Task The_API_starts_with_the_database_down_accepts_posts_and_answers_a_delete_503_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-erasure-db-down", 2, ct);
        await using var api = await ErasureHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:RetryAfterSeconds=7");
        using var ingest = api.Client(ApiHost.IngestOnlyKey);
        using var eraser = api.Client(ErasureHost.EraseKey);

        using var before = await ingest.SendAsync(Http.Post("s1", "0", ErasureHost.Payload(0)), ct);
        using var erase = await eraser.DeleteAsync("/v1/sessions/s1", ct);
        using var after = await ingest.SendAsync(Http.Post("s1", "1", ErasureHost.Payload(1)), ct);

        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        await Http.AssertProblemAsync(erase, 503, "database-unavailable");
        Assert.Equal(TimeSpan.FromSeconds(7), erase.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode); // a 503 recorded nothing
        Assert.False(api.Erased().Listening);
    }
}

/// <summary>The listener through a real outage: it connects once Postgres is up, and reconnects and reloads after a restart.</summary>
[Collection(nameof(RunsAlone))]
public sealed class ErasureReconnectTests(KafkaFixture kafka)
{
    [Fact]
    public async Task The_listener_connects_when_Postgres_comes_up_and_catches_up_after_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await PrivatePostgres.StartAsync(ct);
        var database = await cluster.CreateDatabaseAsync("ingest", ct);
        var rows = new StoredRows(database);
        await rows.ApplySchemaAsync(ct);
        await cluster.StopAsync(ct);
        var topic = await kafka.CreateTopicAsync("api-erasure-reconnect", 2, ct);
        await using var api = await ErasureHost.StartAsync(kafka, topic, database, ct);
        await using var eraser = await ErasureHost.StartAsync(kafka, topic, database, ct); // another replica
        using var ingest = api.Client(ApiHost.IngestOnlyKey);
        using var erase = eraser.Client(ErasureHost.EraseKey);
        using var anonymous = api.Client();

        using (var accepted = await ingest.SendAsync(Http.Post("s1", "0", ErasureHost.Payload(0)), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        Assert.Matches(@"(?m)^ingest_api_erasure_listening(\{[^}]*\})? 0( |$)", await anonymous.GetStringAsync("/metrics", ct));

        await cluster.ResumeAsync(ct);
        // Both: the exporter of one API in a process shows the Ingest.Api meters of all of them (see MetricsTests).
        await Eventually.TrueAsync(
            () => api.Erased().Listening && eraser.Erased().Listening, TimeSpan.FromSeconds(60), "the APIs listen once Postgres is up", ct);
        await EraseAsync(erase, "s1", ct);
        await WaitForGoneAsync(ingest, "s1", ct);
        var metrics = await anonymous.GetStringAsync("/metrics", ct);
        Assert.Matches(@"(?m)^ingest_api_erasure_listening(\{[^}]*\})? 1( |$)", metrics);
        Assert.Matches(@"(?m)^ingest_api_erasure_tombstones(\{[^}]*\})? 1( |$)", metrics);

        // A restart: the erasure made while the API is still reconnecting reaches it by the reload after the reconnect
        // (or by its notification, if the API was quicker).
        await cluster.StopAsync(ct);
        await Eventually.TrueAsync(() => !api.Erased().Listening, TimeSpan.FromSeconds(30), "the API notices the database is gone", ct);
        await cluster.ResumeAsync(ct);
        await EraseAsync(erase, "s2", ct);
        await WaitForGoneAsync(ingest, "s2", ct);
        await Eventually.TrueAsync(() => api.Erased().Listening, TimeSpan.FromSeconds(60), "the API listens again", ct);
        using var stillGone = await ingest.SendAsync(Http.Post("s1", "9", ErasureHost.Payload(9)), ct);
        await Http.AssertProblemAsync(stillGone, 410, "session-erased", "sessionId");
    }

    /// <summary>Erases through the other replica, retrying its 503s while its pool meets connections the restart broke.</summary>
    private static Task EraseAsync(HttpClient client, string session, CancellationToken ct) =>
        Eventually.TrueAsync(async () =>
        {
            using var response = await client.DeleteAsync($"/v1/sessions/{session}", ct);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable, $"Unexpected {response.StatusCode}");
            return response.StatusCode == HttpStatusCode.NotFound; // recorded; the session has no stored rows
        }, TimeSpan.FromSeconds(30), $"the erasure of {session} is recorded", ct);

    private static Task WaitForGoneAsync(HttpClient client, string session, CancellationToken ct)
    {
        var seq = 100;
        return Eventually.TrueAsync(async () =>
        {
            using var post = await client.SendAsync(Http.Post(session, (seq++).ToString(System.Globalization.CultureInfo.InvariantCulture), ErasureHost.Payload(seq)), ct);
            return post.StatusCode == HttpStatusCode.Gone;
        }, TimeSpan.FromSeconds(60), $"posts to {session} answer 410 on the API", ct);
    }
}
