using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Confluent.Kafka;
using Ingest.Api.Kafka;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace Ingest.Api.Payloads;

/// <summary>What became of one payload sent to Kafka.</summary>
public abstract record PublishResult
{
    /// <summary>Acknowledged by all in-sync replicas.</summary>
    public sealed record Delivered(int Partition, long Offset) : PublishResult;

    /// <summary>Larger than one Kafka message may be; nothing was sent.</summary>
    public sealed record TooLarge(long MessageBytes, long Limit) : PublishResult;

    /// <summary>Kafka did not acknowledge it in time or refused it; it may or may not be stored.</summary>
    public sealed record Unavailable(string Reason) : PublishResult;
}

/// <summary>
/// Turns one decoded payload into one Kafka message — value <see cref="PayloadCodec"/>, key
/// <see cref="SessionKey"/>, headers <see cref="PayloadEnvelope"/> plus <c>traceparent</c> — and awaits its
/// acknowledgement under a <c>{topic} publish</c> producer span.
/// </summary>
public sealed class PayloadPublisher(
    PayloadProducer producer,
    IOptions<IngestOptions> ingest,
    IOptions<ApiOptions> api,
    TimeProvider time,
    ApiMetrics metrics,
    ILogger<PayloadPublisher> logger)
{
    /// <summary>
    /// Bytes librdkafka adds around key, value and headers when it checks <c>message.max.bytes</c>
    /// (record framing varints, attributes, timestamp delta), rounded up generously.
    /// </summary>
    private const int RecordOverhead = 64;

    /// <summary>Safety net past <c>message.timeout.ms</c>: a delivery report that never comes must still end the request.</summary>
    private static readonly TimeSpan ReportGrace = TimeSpan.FromSeconds(5);

    public async Task<PublishResult> PublishAsync(
        string projectId, string sessionId, long seq, string contentType, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var topic = ingest.Value.Topic;
        var envelope = new PayloadEnvelope(
            projectId, sessionId, seq, contentType, PayloadCodec.Name, time.GetUtcNow(), Guid.NewGuid(),
            payload.Length, XxHash3.HashToUInt64(payload.Span));
        var message = new Message<byte[], byte[]>
        {
            Key = envelope.Key,
            Value = PayloadCodec.Encode(payload.Span),
            Headers = envelope.WriteTo([]),
        };

        using var activity = ApiTelemetry.Source.StartActivity($"{topic} publish", ActivityKind.Producer);
        Tag(activity, topic, envelope, message.Value.Length);
        InjectTraceContext(activity, message.Headers);

        var size = MessageSize(message);
        if (size > producer.MaxMessageBytes)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "message too large");
            return new PublishResult.TooLarge(size, producer.MaxMessageBytes);
        }

        var started = time.GetTimestamp();
        try
        {
            var report = await producer.ProduceAsync(topic, message, cancellationToken)
                .WaitAsync(api.Value.DeliveryTimeout + ReportGrace, cancellationToken);
            metrics.Produced(time.GetElapsedTime(started), "delivered");
            activity?.SetTag("messaging.destination.partition.id", report.Partition.Value.ToString(CultureInfo.InvariantCulture));
            activity?.SetTag("messaging.kafka.offset", report.Offset.Value);
            return new PublishResult.Delivered(report.Partition.Value, report.Offset.Value);
        }
        catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.MsgSizeTooLarge)
        {
            // The broker's or topic's limit is below ours: still a payload that cannot go as one message.
            metrics.Produced(time.GetElapsedTime(started), "too_large");
            Failed(activity, ex.Error.Code.ToString());
            return new PublishResult.TooLarge(size, producer.MaxMessageBytes);
        }
        catch (Exception ex) when (ex is KafkaException or TimeoutException or ObjectDisposedException)
        {
            var reason = ex is KafkaException kafka ? $"{kafka.Error.Code}: {kafka.Error.Reason}" : ex.Message;
            metrics.Produced(time.GetElapsedTime(started), "failed");
            Failed(activity, ex is KafkaException k ? k.Error.Code.ToString() : ex.GetType().Name);
            Log.ProduceFailed(logger, projectId, sessionId, seq, reason);
            return new PublishResult.Unavailable(reason);
        }
    }

    /// <summary>Size as librdkafka counts it against <c>message.max.bytes</c>.</summary>
    private static long MessageSize(Message<byte[], byte[]> message) =>
        RecordOverhead + message.Key.Length + message.Value.Length
        + message.Headers.Sum(h => (long)Encoding.UTF8.GetByteCount(h.Key) + h.GetValueBytes().Length + 10);

    private static void Tag(Activity? activity, string topic, PayloadEnvelope envelope, int valueBytes)
    {
        if (activity is null)
        {
            return;
        }

        // OpenTelemetry messaging semantic conventions (Kafka).
        activity.SetTag("messaging.system", "kafka");
        activity.SetTag("messaging.operation.type", "send");
        activity.SetTag("messaging.operation.name", "publish");
        activity.SetTag("messaging.destination.name", topic);
        activity.SetTag("messaging.kafka.message.key", $"{envelope.ProjectId}/{envelope.SessionId}");
        activity.SetTag("messaging.message.id", envelope.PayloadId.ToString("N"));
        activity.SetTag("messaging.message.body.size", valueBytes);
        activity.SetTag("ingest.seq", envelope.Seq);
    }

    private static void InjectTraceContext(Activity? activity, Headers headers)
    {
        var context = activity?.Context ?? Activity.Current?.Context ?? default;
        if (context == default)
        {
            return;
        }

        Propagators.DefaultTextMapPropagator.Inject(
            new PropagationContext(context, Baggage.Current), headers, static (h, key, value) => h.Add(key, Encoding.UTF8.GetBytes(value)));
    }

    private static void Failed(Activity? activity, string errorType)
    {
        activity?.SetTag("error.type", errorType);
        activity?.SetStatus(ActivityStatusCode.Error, errorType);
    }
}
