using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Ingest.Api.Telemetry;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Envelope;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>One <c>{topic} publish</c> span per payload, an event per chunk, its context in every chunk's traceparent.</summary>
public sealed class PublishSpanTests(KafkaFixture kafka)
{
    [Fact]
    public async Task A_chunked_payload_has_one_publish_span_whose_context_every_chunk_carries()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-span", 2, ct);
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ApiTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Add(activity),
        };
        ActivitySource.AddActivityListener(listener);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:ChunkBytes=65536");
        using var client = api.Client(ApiHost.IngestReadKey);

        using (var response = await client.SendAsync(Http.Post("traced", "1", ChunkingTests.Mixed(200_000, 8), "application/octet-stream"), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var produced = Assert.Single(ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out _));
        var span = Assert.Single(spans, s => s.DisplayName == $"{topic} publish");
        Assert.Equal(ActivityKind.Producer, span.Kind);
        Assert.Equal(produced.Last.PayloadId.ToString("N"), span.GetTagItem("messaging.message.id"));
        Assert.Equal(4, span.Events.Count(e => e.Name == "chunk acknowledged")); // 200,000 bytes in 64 KiB chunks
        Assert.All(produced.Messages, m =>
        {
            Assert.True(m.Message.Headers.TryGetLastBytes(IngestHeaders.TraceParent, out var traceParent));
            Assert.Equal($"00-{span.TraceId}-{span.SpanId}-01", Encoding.UTF8.GetString(traceParent));
        });
    }
}
