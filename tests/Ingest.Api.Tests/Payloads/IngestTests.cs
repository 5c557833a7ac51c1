using System.IO.Hashing;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Ingest.Api.Payloads;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>Accepted payloads, checked on the broker: key, partition, envelope, trace context and value.</summary>
public sealed class IngestTests(KafkaFixture kafka)
{
    private const int Partitions = 4;

    [Fact]
    public async Task Valid_post_is_202_and_the_message_at_the_reported_offset_is_the_payload()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-ingest", Partitions, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(ApiHost.IngestReadKey);
        var payload = Encoding.UTF8.GetBytes("{\"events\":[{\"t\":1},{\"t\":2}]}");
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        using var response = await client.SendAsync(Http.Post("session-1", "7", payload, "application/json; charset=utf-8"), ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("/v1/sessions/session-1/payloads/7", response.Headers.Location?.OriginalString);
        var accepted = await response.Content.ReadFromJsonAsync<PayloadAccepted>(ct);
        Assert.NotNull(accepted);
        Assert.Equal(("session-1", 7L, (long)payload.Length), (accepted.SessionId, accepted.Seq, accepted.Bytes));

        var message = TopicReader.ReadAt(kafka, topic, accepted.Partition, accepted.Offset).Message;
        var key = SessionKey.For(ApiHost.Project, "session-1");
        Assert.Equal(key, message.Key);
        Assert.Equal(SessionKey.PartitionFor(key, Partitions), accepted.Partition);
        Assert.Equal(payload, PayloadCodec.Decode(message.Value));

        var envelope = PayloadEnvelope.ReadFrom(message.Headers);
        Assert.Equal(ApiHost.Project, envelope.ProjectId);
        Assert.Equal("session-1", envelope.SessionId);
        Assert.Equal(7, envelope.Seq);
        Assert.Equal("application/json", envelope.ContentType);
        Assert.Equal(PayloadCodec.Name, envelope.Encoding);
        Assert.Equal(payload.Length, envelope.Length);
        Assert.Equal(XxHash3.HashToUInt64(payload), envelope.Checksum);
        Assert.InRange(envelope.ReceivedAt, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.NotEqual(Guid.Empty, envelope.PayloadId);

        Assert.True(message.Headers.TryGetLastBytes(IngestHeaders.TraceParent, out var traceParent));
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", Encoding.UTF8.GetString(traceParent));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("lz4")]
    [InlineData("identity")]
    public async Task Encoded_bodies_are_decoded_before_they_are_produced(string contentEncoding)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-coding", Partitions, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(ApiHost.IngestOnlyKey);
        var payload = new byte[200_000];
        new Random(11).NextBytes(payload.AsSpan(0, 50_000)); // part random, part zeros
        var wire = contentEncoding switch
        {
            "gzip" => PayloadBodyStreamTests.Gzip(payload),
            "lz4" => PayloadBodyStreamTests.Lz4Frame(payload),
            _ => payload,
        };

        using var response = await client.SendAsync(Http.Post("s-coding", "0", wire, "application/octet-stream", contentEncoding), ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<PayloadAccepted>(ct))!;
        Assert.Equal(payload.Length, accepted.Bytes);
        var message = TopicReader.ReadAt(kafka, topic, accepted.Partition, accepted.Offset).Message;
        Assert.Equal(payload, PayloadCodec.Decode(message.Value));
        Assert.Equal("application/octet-stream", PayloadEnvelope.ReadFrom(message.Headers).ContentType);
    }

    [Fact]
    public async Task One_session_keeps_one_partition_and_its_order()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-order", Partitions, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(ApiHost.IngestReadKey);

        var results = new List<PayloadAccepted>();
        for (var seq = 0; seq < 5; seq++)
        {
            using var response = await client.SendAsync(Http.Post("ordered", $"{seq}", Encoding.UTF8.GetBytes($"{{\"n\":{seq}}}")), ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            results.Add((await response.Content.ReadFromJsonAsync<PayloadAccepted>(ct))!);
        }

        Assert.Single(results.Select(r => r.Partition).Distinct());
        Assert.Equal(results.Select(r => r.Offset).Order(), results.Select(r => r.Offset));
        Assert.Equal(5, results.Select(r => r.Offset).Distinct().Count());
    }
}
