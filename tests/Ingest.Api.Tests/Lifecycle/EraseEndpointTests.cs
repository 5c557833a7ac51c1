using System.Net;
using System.Net.Http.Json;
using Ingest.Api.Lifecycle;
using Ingest.Api.Tests.Hosting;
using Ingest.Storage.Reading;
using Ingest.Testing;

namespace Ingest.Api.Tests.Lifecycle;

/// <summary><c>DELETE /v1/sessions/{id}</c>: its scope, its answers, what it records, and that it stays within the caller's project.</summary>
public sealed class EraseEndpointTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Session = "erase-me";

    [Fact]
    public async Task Delete_without_the_erase_scope_is_403_missing_scope_and_records_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(postgres, ct, (ApiHost.Project, Session, 0));
        await using var api = await ErasureHost.StartAsync(kafka, "unused-topic", database, ct);
        using var client = api.Client(ApiHost.IngestReadKey);

        using var response = await client.DeleteAsync($"/v1/sessions/{Session}", ct);

        var problem = await Http.AssertProblemAsync(response, 403, "missing-scope", "Authorization");
        Assert.Contains("'erase'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Null(await ErasureHost.ErasedAtAsync(database, ApiHost.Project, Session, ct));
    }

    public static TheoryData<string> InvalidIds => ["bad.id", new string('a', 129)];

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public async Task Delete_of_an_invalid_session_id_is_400_as_for_a_read(string sessionId)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ErasureHost.StartAsync(kafka, "unused-topic", await postgres.CreateDatabaseAsync(ct), ct);
        using var client = api.Client(ErasureHost.EraseKey);

        using var response = await client.DeleteAsync($"/v1/sessions/{sessionId}", ct);

        await Http.AssertProblemAsync(response, 400, "invalid-session-id", "sessionId");
    }

    [Fact]
    public async Task Delete_of_a_stored_session_is_202_with_when_and_the_bound_and_a_repeat_is_202_with_the_first_time()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(
            postgres, ct, (ApiHost.Project, Session, 0), (ApiHost.Project, Session, 1), (ApiHost.Project, "kept", 0));
        await using var api = await ErasureHost.StartAsync(kafka, "unused-topic", database, ct, "--Ingest:Lifecycle:CheckInterval=00:00:05");
        using var client = api.Client(ErasureHost.EraseKey);

        using var first = await client.DeleteAsync($"/v1/sessions/{Session}", ct);
        using var again = await client.DeleteAsync($"/v1/sessions/{Session}", ct);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var erased = (await first.Content.ReadFromJsonAsync<SessionErased>(ct))!;
        var repeated = (await again.Content.ReadFromJsonAsync<SessionErased>(ct))!;
        Assert.Equal((Session, "within 5 seconds"), (erased.SessionId, erased.RemovalBound));
        Assert.Equal(erased, repeated);
        Assert.Equal(erased.ErasedAt, await ErasureHost.ErasedAtAsync(database, ApiHost.Project, Session, ct));
        Assert.Null(await ErasureHost.ErasedAtAsync(database, ApiHost.Project, "kept", ct));
    }

    [Fact]
    public async Task Reads_of_an_erased_session_answer_404()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(postgres, ct, (ApiHost.Project, Session, 0));
        await using var api = await ErasureHost.StartAsync(kafka, "unused-topic", database, ct);
        using var eraser = api.Client(ErasureHost.EraseKey);
        using var reader = api.Client(ApiHost.ReadOnlyKey);
        using (var before = await reader.GetAsync($"/v1/sessions/{Session}", ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var erased = await eraser.DeleteAsync($"/v1/sessions/{Session}", ct);
        using var summary = await reader.GetAsync($"/v1/sessions/{Session}", ct);
        using var list = await reader.GetAsync($"/v1/sessions/{Session}/payloads", ct);
        using var payload = await reader.GetAsync($"/v1/sessions/{Session}/payloads/0", ct);

        Assert.Equal(HttpStatusCode.Accepted, erased.StatusCode);
        await Http.AssertProblemAsync(summary, 404, "session-not-found", "sessionId");
        await Http.AssertProblemAsync(list, 404, "session-not-found", "sessionId");
        await Http.AssertProblemAsync(payload, 404, "payload-not-found", "seq");
    }

    [Fact]
    public async Task Delete_of_a_session_only_another_project_has_is_404_yet_recorded_and_the_other_project_keeps_its_data()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(postgres, ct, (ApiHost.OtherProject, Session, 0), (ApiHost.OtherProject, Session, 1));
        var topic = await kafka.CreateTopicAsync("api-erase-other", 2, ct);
        await using var api = await ErasureHost.StartAsync(kafka, topic, database, ct);
        using var eraser = api.Client(ErasureHost.EraseKey);
        using var ingest = api.Client(ApiHost.IngestOnlyKey);
        using var other = api.Client(ApiHost.OtherProjectKey);

        using var first = await eraser.DeleteAsync($"/v1/sessions/{Session}", ct);
        using var again = await eraser.DeleteAsync($"/v1/sessions/{Session}", ct);
        using var post = await ingest.SendAsync(Http.Post(Session, "0", ErasureHost.Payload(0)), ct);

        var problem = await Http.AssertProblemAsync(first, 404, "session-not-found", "sessionId");
        Assert.Contains("recorded all the same", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(again, 404, "session-not-found", "sessionId");
        await Http.AssertProblemAsync(post, 410, "session-erased", "sessionId");
        Assert.NotNull(await ErasureHost.ErasedAtAsync(database, ApiHost.Project, Session, ct));

        // The other project's session of the same id is untouched: still stored, readable and open to posts.
        Assert.Null(await ErasureHost.ErasedAtAsync(database, ApiHost.OtherProject, Session, ct));
        var summary = await other.GetFromJsonAsync<SessionSummary>($"/v1/sessions/{Session}", ct);
        Assert.Equal(2, summary?.PayloadCount);
        Assert.Equal(ErasureHost.Payload(1), await other.GetByteArrayAsync($"/v1/sessions/{Session}/payloads/1", ct));
        using var otherPost = await other.SendAsync(Http.Post(Session, "2", ErasureHost.Payload(2)), ct);
        Assert.Equal(HttpStatusCode.Accepted, otherPost.StatusCode);
    }
}
