using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Ingest.Api.Payloads;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Identity;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// Large payloads leave the API as chunks (checked on the broker, before any worker): ordered under the session
/// key, running length and checksum, the last flag on the last one, the 202 naming the last chunk's offset.
/// The mock cluster keeps ~5 MiB per partition, so these payloads stay well below that.
/// </summary>
public sealed class ChunkingTests(KafkaFixture kafka)
{
    /// <summary>Half random, half repetitive: some chunks compress, some are stored.</summary>
    internal static byte[] Mixed(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes.AsSpan(0, length / 2));
        var pattern = "{\"type\":3,\"data\":{\"x\":1}},"u8;
        for (var i = length / 2; i < length; i++)
        {
            bytes[i] = pattern[i % pattern.Length];
        }

        return bytes;
    }

    [Theory]
    [InlineData("identity")]
    [InlineData("gzip")]
    [InlineData("lz4")]
    public async Task Large_payload_is_produced_as_ordered_chunks_that_reassemble_to_the_same_bytes(string encoding)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-chunks", 4, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(ApiHost.IngestOnlyKey);
        var payload = Mixed(2_500_000, 5);
        var wire = encoding switch
        {
            "gzip" => PayloadBodyStreamTests.Gzip(payload),
            "lz4" => PayloadBodyStreamTests.Lz4Frame(payload),
            _ => payload,
        };

        using var response = await client.SendAsync(Http.Post("big-1", "3", wire, "application/octet-stream", encoding), ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<PayloadAccepted>(ct))!;
        Assert.Equal(payload.Length, accepted.Bytes);
        var produced = Assert.Single(ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out var incomplete));
        Assert.Empty(incomplete);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(produced.Bytes));
        Assert.Equal(10, produced.Messages.Count); // 2.5 MB in 256 KiB chunks
        Assert.Equal((accepted.Partition, accepted.Offset), (produced.Messages[^1].Partition.Value, produced.Messages[^1].Offset.Value));
        Assert.Equal(SessionKey.PartitionFor(SessionKey.For(ApiHost.Project, "big-1"), 4), accepted.Partition);
        Assert.Equal((3L, "application/octet-stream"), (produced.Last.Seq, produced.Last.ContentType));
    }

    [Fact]
    public async Task One_byte_exactly_the_limit_and_one_more_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-limit", 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:MaxPayloadBytes=300000", "--Api:ChunkBytes=65536");
        using var client = api.Client(ApiHost.IngestReadKey);
        var atLimit = Mixed(300_000, 1);

        using var one = await client.SendAsync(Http.Post("limits", "0", [42], "application/octet-stream"), ct);
        using var exact = await client.SendAsync(Http.Post("limits", "1", atLimit, "application/octet-stream"), ct);
        using var over = await client.SendAsync(Http.Post("limits", "2", Mixed(300_001, 2), "application/octet-stream"), ct);

        Assert.Equal(HttpStatusCode.Accepted, one.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, exact.StatusCode);
        var problem = await Http.AssertProblemAsync(over, 413, "payload-too-large", "body");
        Assert.Equal(300_000, problem.GetProperty("limit").GetInt64());
        var produced = ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out var incomplete).ToDictionary(p => p.Last.Seq);
        Assert.Equal([0L, 1L], produced.Keys.Order());
        Assert.Equal([42], produced[0].Bytes);
        Assert.Equal(atLimit, produced[1].Bytes);
        Assert.Equal(5, produced[1].Messages.Count);
        Assert.Single(incomplete); // the refused upload's first chunks went out, never its last
    }

    [Fact]
    public async Task Chunks_fit_a_small_message_max_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-small-messages", 2, ct);
        await using var api = await ApiHost.StartAsync(
            kafka, topic, Http.UnusedDatabase, ct, "--Kafka:message.max.bytes=20000", "--Api:ChunkBytes=15000");
        using var client = api.Client(ApiHost.IngestReadKey);
        var payload = Mixed(40_000, 3);

        using var response = await client.SendAsync(Http.Post("s1", "1", payload, "application/octet-stream"), ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var produced = Assert.Single(ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out _));
        Assert.Equal(3, produced.Messages.Count);
        Assert.Equal(payload, produced.Bytes);
    }
}
