using System.Globalization;
using System.Net;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Lifecycle;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Api.Tests.Lifecycle;

/// <summary>Posts to an erased session answer 410 before their body is read: on the erasing instance at once, on others when notified.</summary>
public sealed class ErasedPostTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Session = "erased-session";

    [Fact]
    public async Task A_post_right_after_the_delete_is_410_on_the_same_instance_and_nothing_of_it_is_produced()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(postgres, ct, (ApiHost.Project, Session, 0));
        var topic = await kafka.CreateTopicAsync("api-erased-post", 2, ct);
        await using var api = await ErasureHost.StartAsync(kafka, topic, database, ct);
        using var eraser = api.Client(ErasureHost.EraseKey);
        using var ingest = api.Client(ApiHost.IngestOnlyKey);

        using var erased = await eraser.DeleteAsync($"/v1/sessions/{Session}", ct);
        using var refused = await ingest.SendAsync(Http.Post(Session, "1", ErasureHost.Payload(1)), ct);
        using var other = await ingest.SendAsync(Http.Post("live-session", "1", ErasureHost.Payload(1)), ct);

        Assert.Equal(HttpStatusCode.Accepted, erased.StatusCode);
        await Http.AssertProblemAsync(refused, 410, "session-erased", "sessionId");
        Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
        var produced = TopicReader.ReadAll(kafka, topic).Select(m => PayloadEnvelope.ReadFrom(m.Message.Headers).SessionId);
        Assert.Equal(["live-session"], produced);
    }

    [Fact]
    public async Task A_post_to_another_instance_is_410_once_it_is_notified_of_the_erasure()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(postgres, ct, (ApiHost.Project, Session, 0));
        var topic = await kafka.CreateTopicAsync("api-erased-notify", 2, ct);
        await using var eraser = await ErasureHost.StartAsync(kafka, topic, database, ct);
        // Its periodic full load is an hour away: only the notification can tell it within the test.
        await using var other = await ErasureHost.StartAsync(kafka, topic, database, ct, "--Api:ErasureRefreshInterval=01:00:00");
        await Eventually.TrueAsync(() => other.Erased().Listening, TimeSpan.FromSeconds(30), "the second API listens for erasures", ct);
        using var client = eraser.Client(ErasureHost.EraseKey);
        using var ingest = other.Client(ApiHost.IngestOnlyKey);

        using var erased = await client.DeleteAsync($"/v1/sessions/{Session}", ct);
        Assert.Equal(HttpStatusCode.Accepted, erased.StatusCode);

        var seq = 0;
        await Eventually.TrueAsync(async () =>
        {
            seq++;
            using var post = await ingest.SendAsync(Http.Post(Session, seq.ToString(CultureInfo.InvariantCulture), ErasureHost.Payload(seq)), ct);
            Assert.True(post.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Gone, $"Unexpected {post.StatusCode}");
            return post.StatusCode == HttpStatusCode.Gone;
        }, TimeSpan.FromSeconds(10), "the second API refuses posts to the session erased on the first", ct);
    }

    [Fact]
    public async Task Posts_to_an_erased_project_are_410_from_start_up_and_once_notified()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await ErasureHost.DatabaseWithRowsAsync(postgres, ct);
        await EraseProjectAsync(database, ApiHost.Project, ct); // before the API starts: its first load has it
        var topic = await kafka.CreateTopicAsync("api-erased-project", 2, ct);
        await using var api = await ErasureHost.StartAsync(kafka, topic, database, ct);
        using var erasedProject = api.Client(ApiHost.IngestOnlyKey);
        using var otherProject = api.Client(ApiHost.OtherProjectKey);

        using var refused = await erasedProject.SendAsync(Http.Post("any-session", "0", ErasureHost.Payload(0)), ct);
        using var accepted = await otherProject.SendAsync(Http.Post("any-session", "0", ErasureHost.Payload(0)), ct);

        var problem = await Http.AssertProblemAsync(refused, 410, "session-erased", "sessionId");
        Assert.StartsWith($"Project {ApiHost.Project} was erased", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        await Eventually.TrueAsync(() => api.Erased().Listening, TimeSpan.FromSeconds(30), "the API listens for erasures", ct);
        await EraseProjectAsync(database, ApiHost.OtherProject, ct);
        await Eventually.TrueAsync(async () =>
        {
            using var post = await otherProject.SendAsync(Http.Post("another-session", "0", ErasureHost.Payload(0)), ct);
            return post.StatusCode == HttpStatusCode.Gone;
        }, TimeSpan.FromSeconds(10), "posts to the project erased after start-up are refused", ct);
    }

    /// <summary>What the operations command records for a whole project's erasure, and its notification.</summary>
    private static async Task EraseProjectAsync(string database, string project, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            """
            WITH erased AS (INSERT INTO ingest.erased_projects (project, keep_until) VALUES ($1, now() + interval '30 days') RETURNING project)
            SELECT pg_notify($2, $3) FROM erased
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = project });
        command.Parameters.Add(new NpgsqlParameter { Value = SessionErasures.Channel });
        command.Parameters.Add(new NpgsqlParameter { Value = SessionErasures.NotificationFor(project, null) });
        await command.ExecuteNonQueryAsync(ct);
    }
}
