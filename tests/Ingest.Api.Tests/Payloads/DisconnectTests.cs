using System.Net;
using Confluent.Kafka;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// A client vanishing mid-upload: some chunks are on the topic, never the last; the refusal is counted. In the
/// alone collection because meters are process-wide.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class DisconnectTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Client_vanishing_mid_upload_is_counted_and_nothing_of_it_is_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-disconnect", 1, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:ChunkBytes=65536");
        using var client = api.Client(ApiHost.IngestReadKey);
        using (var before = await client.SendAsync(Http.Post("before", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        }

        await using (var raw = await RawHttp.ConnectAsync(api.Address, ct))
        {
            await raw.SendAsync(RawHttp.PostHead("vanishing", 1, contentLength: 2_000_000), ct);
            await raw.SendAsync(ChunkingTests.Mixed(600_000, 9), ct);
            // Wait until chunks of the upload are on the topic, so the disconnect really is mid-upload.
            await Eventually.TrueAsync(() => HighWatermark(topic) >= 4, TimeSpan.FromSeconds(30), "first chunks produced", ct);
            raw.Reset();
        }

        await Eventually.TrueAsync(
            async () => (await client.GetStringAsync("/metrics", ct)) is var text
                && text.Contains("ingest_api_client_disconnects_total", StringComparison.Ordinal)
                && text.Contains("client-disconnected", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "disconnect counted",
            ct);
        var metrics = await client.GetStringAsync("/metrics", ct);
        Assert.True(
            System.Text.RegularExpressions.Regex.IsMatch(metrics, @"(?m)^ingest_api_client_disconnects_total\{[^}]*\} 1( |$)"),
            string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("ingest_api_", StringComparison.Ordinal) && !l.Contains("bucket", StringComparison.Ordinal))));
        Assert.True(
            System.Text.RegularExpressions.Regex.IsMatch(metrics, @"(?m)^ingest_api_payloads_refused_total\{[^}]*reason=""client-disconnected""[^}]*\} 1( |$)"),
            string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("ingest_api_payloads_refused", StringComparison.Ordinal))));

        using (var after = await client.SendAsync(Http.Post("after", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        }

        var complete = ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out var incomplete);
        Assert.Equal(["after", "before"], complete.Select(p => p.Last.SessionId).Order());
        Assert.Single(incomplete);
    }

    private long HighWatermark(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(kafka.Configure(new ConsumerConfig { GroupId = "watermarks" })).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }
}
