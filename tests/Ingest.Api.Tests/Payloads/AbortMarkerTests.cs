using System.Net;
using Confluent.Kafka;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// An upload the API gives up after producing some of its chunks is followed, on the topic, by its abort marker: same key
/// and payload id, after its chunks, the next index, running totals unchanged, <c>ingest-abort=1</c>, an empty value. A
/// delivered upload never gets one.
/// </summary>
public sealed class AbortMarkerTests(KafkaFixture kafka)
{
    [Fact]
    public async Task An_upload_refused_part_way_is_followed_by_its_abort_marker_a_delivered_one_is_not()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-abort-413", 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:MaxPayloadBytes=300000", "--Api:ChunkBytes=65536");
        using var client = api.Client(ApiHost.IngestOnlyKey);

        using var refused = await client.SendAsync(Http.Post("aborted", "1", ChunkingTests.Mixed(300_001, 4), "application/octet-stream"), ct);
        using var accepted = await client.SendAsync(Http.Post("aborted", "1", ChunkingTests.Mixed(250_000, 4), "application/octet-stream"), ct);

        await Http.AssertProblemAsync(refused, 413, "payload-too-large", "body");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var refusedUpload = await WaitForMarkerAsync(topic, ct);
        AssertMarkerEnds(refusedUpload, producedChunks: 4); // 4 × 64 KiB went out before the 5th passed the limit
        var delivered = Assert.Single(ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out _));
        Assert.DoesNotContain(delivered.Messages, m => PayloadEnvelope.ReadFrom(m.Message.Headers).IsAbort);
    }

    [Fact]
    public async Task A_client_vanishing_mid_upload_leaves_an_abort_marker_after_the_chunks_produced()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-abort-disconnect", 1, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:ChunkBytes=65536");
        await using (var raw = await RawHttp.ConnectAsync(api.Address, ct))
        {
            await raw.SendAsync(RawHttp.PostHead("vanishing", 1, contentLength: 2_000_000), ct);
            await raw.SendAsync(ChunkingTests.Mixed(600_000, 9), ct);
            await Eventually.TrueAsync(() => TopicReader.ReadAll(kafka, topic).Count >= 3, TimeSpan.FromSeconds(30), "first chunks produced", ct);
            raw.Reset();
        }

        var upload = await WaitForMarkerAsync(topic, ct);
        AssertMarkerEnds(upload, producedChunks: upload.Count - 1);
        Assert.InRange(upload.Count - 1, 3, 9); // 600 KB sent: at most 9 chunks of 64 KiB
    }

    /// <summary>The messages of the one upload with an abort marker, in offset order, once the marker is on the topic.</summary>
    private async Task<List<ConsumeResult<byte[], byte[]>>> WaitForMarkerAsync(string topic, CancellationToken ct)
    {
        List<ConsumeResult<byte[], byte[]>> messages = [];
        await Eventually.TrueAsync(
            () => (messages = TopicReader.ReadAll(kafka, topic)).Any(m => PayloadEnvelope.ReadFrom(m.Message.Headers).IsAbort),
            TimeSpan.FromSeconds(30), "abort marker produced", ct);
        var id = PayloadEnvelope.ReadFrom(messages.Single(m => PayloadEnvelope.ReadFrom(m.Message.Headers).IsAbort).Message.Headers).PayloadId;
        return [.. messages.Where(m => PayloadEnvelope.ReadFrom(m.Message.Headers).PayloadId == id).OrderBy(m => m.Offset.Value)];
    }

    private static void AssertMarkerEnds(List<ConsumeResult<byte[], byte[]>> upload, int producedChunks)
    {
        Assert.Equal(producedChunks + 1, upload.Count);
        var envelopes = upload.Select(m => PayloadEnvelope.ReadFrom(m.Message.Headers)).ToList();
        Assert.Equal(Enumerable.Range(0, producedChunks + 1), envelopes.Select(e => e.ChunkIndex));
        Assert.Equal([.. Enumerable.Repeat(false, producedChunks), true], envelopes.Select(e => e.IsAbort));
        Assert.DoesNotContain(envelopes, e => e.IsLastChunk);
        Assert.Single(upload.Select(m => (Convert.ToHexString(m.Message.Key), m.Partition.Value)).Distinct());
        var marker = envelopes[^1];
        Assert.Equal((envelopes[^2].Length, envelopes[^2].Checksum), (marker.Length, marker.Checksum));
        Assert.Empty(PayloadCodec.Decode(upload[^1].Message.Value));
    }
}
