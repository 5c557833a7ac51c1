using System.Net;
using Confluent.Kafka;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>Keys, scopes and project isolation, checked against what reached the topic and the store.</summary>
public sealed class AuthTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Wrong_key_gets_401_and_read_only_key_gets_403_and_nothing_is_produced()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartApiAsync(ct);

        using (var wrong = pipeline.Client("not-a-key"))
        using (var response = await Payloads.PostAsync(wrong, "auth-1", 0, Payloads.Make("auth-1", 0, 100), ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        using (var readOnly = pipeline.Client(Pipeline.ReadOnlyKey))
        using (var response = await Payloads.PostAsync(readOnly, "auth-1", 0, Payloads.Make("auth-1", 0, 100), ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        // A marker produced after the refused requests: the topic holds the marker and nothing before it.
        using var producer = new ProducerBuilder<Null, string>(kafka.Configure(new ProducerConfig { Acks = Acks.All })).Build();
        var marker = await producer.ProduceAsync(pipeline.Topic, new Message<Null, string> { Value = "marker" }, ct);
        Assert.Equal(0, marker.Offset.Value);
    }

    [Fact]
    public async Task Another_projects_key_cannot_read_a_session_with_the_same_id()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var owner = pipeline.Client(Pipeline.IngestReadKey);
        using var other = pipeline.Client(Pipeline.OtherProjectKey);
        var body = Payloads.Make("shared-id", 0, 300);
        await Payloads.PostAcceptedAsync(owner, "shared-id", 0, body, ct);
        await pipeline.WaitForStoredAsync(1, TimeSpan.FromSeconds(30), ct);

        using (var mine = await owner.GetAsync("/v1/sessions/shared-id/payloads/0", ct))
        {
            Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
            Assert.Equal(body, await mine.Content.ReadAsByteArrayAsync(ct));
        }

        foreach (var url in new[] { "/v1/sessions/shared-id", "/v1/sessions/shared-id/payloads/0" })
        {
            using var response = await other.GetAsync(url, ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var list = await other.GetAsync("/v1/sessions/shared-id/payloads", ct);
        Assert.True(list.StatusCode is HttpStatusCode.NotFound || (await list.Content.ReadAsStringAsync(ct)).Contains("\"items\":[]", StringComparison.Ordinal),
            "another project's listing must not show the session");
    }
}
