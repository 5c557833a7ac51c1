using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Envelope;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace Ingest.Api.Payloads;

/// <summary>
/// The <c>{topic} publish</c> producer span of one payload (OpenTelemetry messaging semantic conventions,
/// Kafka), with one event per acknowledged chunk, and its trace context in every chunk's headers.
/// </summary>
public static class PublishTelemetry
{
    public static Activity? Start(string topic, PayloadEnvelope envelope)
    {
        var activity = ApiTelemetry.Source.StartActivity($"{topic} publish", ActivityKind.Producer);
        if (activity is null)
        {
            return null;
        }

        activity.SetTag("messaging.system", "kafka");
        activity.SetTag("messaging.operation.type", "send");
        activity.SetTag("messaging.operation.name", "publish");
        activity.SetTag("messaging.destination.name", topic);
        activity.SetTag("messaging.kafka.message.key", $"{envelope.ProjectId}/{envelope.SessionId}");
        activity.SetTag("messaging.message.id", envelope.PayloadId.ToString("N"));
        activity.SetTag("ingest.seq", envelope.Seq);
        return activity;
    }

    public static void ChunkAcknowledged(Activity? activity, int index, DeliveryResult<byte[], byte[]> report) =>
        activity?.AddEvent(new ActivityEvent("chunk acknowledged", tags: new ActivityTagsCollection
        {
            ["ingest.chunk.index"] = index,
            ["messaging.destination.partition.id"] = report.Partition.Value.ToString(CultureInfo.InvariantCulture),
            ["messaging.kafka.offset"] = report.Offset.Value,
            ["messaging.message.body.size"] = report.Message.Value.Length,
        }));

    public static void Delivered(Activity? activity, DeliveryResult<byte[], byte[]> last, int chunks, long bytes)
    {
        activity?.SetTag("messaging.destination.partition.id", last.Partition.Value.ToString(CultureInfo.InvariantCulture));
        activity?.SetTag("messaging.kafka.offset", last.Offset.Value);
        activity?.SetTag("messaging.batch.message_count", chunks);
        activity?.SetTag("ingest.payload.bytes", bytes);
    }

    public static void Failed(Activity? activity, string errorType)
    {
        activity?.SetTag("error.type", errorType);
        activity?.SetStatus(ActivityStatusCode.Error, errorType);
    }

    public static void InjectTraceContext(Activity? activity, Headers headers)
    {
        var context = activity?.Context ?? Activity.Current?.Context ?? default;
        if (context == default)
        {
            return;
        }

        Propagators.DefaultTextMapPropagator.Inject(
            new PropagationContext(context, Baggage.Current), headers, static (h, key, value) => h.Add(key, Encoding.UTF8.GetBytes(value)));
    }
}
