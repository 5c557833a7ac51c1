using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using OpenTelemetry.Context.Propagation;

namespace Ingest.Worker.Telemetry;

/// <summary>
/// <c>{topic} process</c> spans (OpenTelemetry messaging conventions), one per payload, whose parent is
/// the trace context the API wrote into the message headers (<c>traceparent</c>/<c>tracestate</c>).
/// </summary>
public static class ProcessSpans
{
    /// <summary>Starts a span for <paramref name="message"/>, or null when nobody listens.</summary>
    /// <remarks>
    /// The span is not left as <see cref="Activity.Current"/>: a batch has one span per payload, and
    /// none of them is the parent of the shared database write.
    /// </remarks>
    public static Activity? Start(ConsumeResult<byte[]?, byte[]?> message)
    {
        if (!WorkerTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        var parent = Propagators.DefaultTextMapPropagator.Extract(default, message.Message.Headers, ReadHeader);
        var activity = WorkerTelemetry.ActivitySource.StartActivity(
            $"{message.Topic} process",
            ActivityKind.Consumer,
            parent.ActivityContext,
            [
                new("messaging.system", "kafka"),
                new("messaging.operation.type", "process"),
                new("messaging.destination.name", message.Topic),
                new("messaging.destination.partition.id", message.Partition.Value),
                new("messaging.kafka.offset", message.Offset.Value),
            ]);
        Activity.Current = previous;
        return activity;
    }

    /// <summary>Ends a span with what happened to the payload.</summary>
    public static void Stop(Activity? activity, string outcome, string? error = null)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("ingest.outcome", outcome);
        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        activity.Dispose();
    }

    private static IEnumerable<string> ReadHeader(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) && bytes is not null
            ? [Encoding.UTF8.GetString(bytes)]
            : [];
}
