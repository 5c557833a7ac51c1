using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Telemetry;

/// <summary>The worker's process span continues the trace the API started (traceparent header).</summary>
public sealed class TracingTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Process_span_is_a_child_of_the_traceparent_in_the_message_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Ingest.Worker",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var traceId = ActivityTraceId.CreateRandom();
        var parentId = ActivitySpanId.CreateRandom();
        var bytes = "traced"u8.ToArray();
        var headers = WorkerScenario.EnvelopeFor("t", 0, bytes).WriteTo(new Headers());
        headers.Add("traceparent", Encoding.UTF8.GetBytes($"00-{traceId}-{parentId}-01"));
        await scenario.ProduceRawAsync(Encoding.UTF8.GetBytes("p1/t"), PayloadCodec.Encode(bytes), headers, ct);

        await scenario.StartWorkerAsync(ct);

        var span = await Eventually.UntilAsync(
            () => spans.FirstOrDefault(s => Equals(s.GetTagItem("messaging.destination.name"), scenario.Topic)),
            s => s is not null, TimeSpan.FromSeconds(30), _ => "no process span", ct);
        Assert.Equal($"{scenario.Topic} process", span!.DisplayName);
        Assert.Equal(ActivityKind.Consumer, span.Kind);
        Assert.Equal(traceId, span.TraceId);
        Assert.Equal(parentId, span.ParentSpanId);
        Assert.Equal("Stored", span.GetTagItem("ingest.outcome"));
    }
}
