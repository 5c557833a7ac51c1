using System.Globalization;
using Confluent.Kafka;
using Ingest.Api.Payloads;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Identity;
using Ingest.Hosting.Kafka;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Kafka;

/// <summary>
/// The process's one Kafka producer: acks=all, idempotent, the session partitioner, sized to the in-flight budget.
/// A fatal error (idempotence broken, fenced, …) leaves a librdkafka producer unusable for good, so it is replaced
/// by a new one (<see cref="ReplaceableProducer{TKey, TValue}"/>): meanwhile the API is not ready and requests on
/// the failed producer get 503.
/// </summary>
public sealed class PayloadProducer : IDisposable
{
    /// <summary>librdkafka's default <c>message.max.bytes</c>.</summary>
    public const int DefaultMaxMessageBytes = 1_000_000;

    /// <summary>
    /// Bytes a chunk's message adds around its value: key (≤ 194), envelope and trace headers (~600) and
    /// record framing, rounded up generously.
    /// </summary>
    public const int ChunkMessageOverhead = 4096;

    /// <summary>The delivery report fields the API reads (<c>dotnet.producer.delivery.report.fields</c>): partition, offset, error, status, and the message it sent.</summary>
    public const string DeliveryReportFields = "key,value,status";

    private readonly ReplaceableProducer<byte[], byte[]> _producer;

    public PayloadProducer(IOptions<KafkaSettings> kafka, IOptions<ApiOptions> api, KafkaClientLog clientLog, ILogger<PayloadProducer> logger)
    {
        var config = CreateConfig(kafka.Value, api.Value);
        MaxMessageBytes = int.TryParse(config.Get("message.max.bytes"), NumberStyles.None, CultureInfo.InvariantCulture, out var max)
            ? max
            : DefaultMaxMessageBytes;
        var largestChunk = PayloadCodec.MaxEncodedLength(api.Value.ChunkBytes) + ChunkMessageOverhead;
        if (largestChunk > MaxMessageBytes)
        {
            throw new InvalidOperationException(
                $"{ApiOptions.Section}:ChunkBytes ({api.Value.ChunkBytes}) makes messages of up to {largestChunk} bytes, more than " +
                $"{KafkaSettings.Section}:message.max.bytes ({MaxMessageBytes}); lower the first or raise the second.");
        }

        _producer = new ReplaceableProducer<byte[], byte[]>(config, clientLog, logger);
        _ = _producer.Current; // built now: bad Kafka:* settings fail start-up, not the first request
        Log.ProducerStarted(logger, config.BootstrapServers, MaxMessageBytes);
    }

    /// <summary>Largest message librdkafka will send (<c>message.max.bytes</c>), key and headers included.</summary>
    public int MaxMessageBytes { get; }

    /// <summary>How many producers this process has built: 1, plus one per fatal-error replacement.</summary>
    public int Generation => _producer.Generation;

    /// <summary>True from a fatal error until the replacement producer is in place.</summary>
    public bool IsRebuilding => _producer.IsReplacing;

    /// <summary>Handle of the current producer, for admin requests that share its connections.</summary>
    public Handle Handle => _producer.Current.Handle;

    /// <summary>
    /// Our settings first, then the <c>Kafka:*</c> passthrough, so an operator can tune anything.
    /// </summary>
    public static ProducerConfig CreateConfig(KafkaSettings kafka, ApiOptions api)
    {
        var config = new ProducerConfig
        {
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
            // Values are LZ4 already (PayloadCodec) and the topic is compression.type=producer.
            CompressionType = CompressionType.None,
            // Each request waits for linger + the delivery report (measured on the 2-core development machines: at 1 KB the producer is latency-bound).
            LingerMs = 5,
            MessageTimeoutMs = (int)api.DeliveryTimeout.TotalMilliseconds,
            // librdkafka queues up to 1 GiB by default; what it holds is at most what the in-flight budget
            // lets in (encoded chunks are no larger than decoded ones plus framing), plus 1 MiB of slack.
            QueueBufferingMaxKbytes = (int)Math.Min(int.MaxValue, (api.InFlightBudgetBytes / 1024) + 1024),
            // Confluent.Kafka copies every field of a delivery report back into managed objects by default; the headers (the
            // envelope's 13) and the timestamp are never read from a report here. Without them the poll thread, which serves
            // every 202's report, stops allocating ~40 objects per message (issue 18's 1 KB profile).
            DeliveryReportFields = DeliveryReportFields,
        };
        foreach (var (key, value) in kafka.Client)
        {
            config.Set(key, value);
        }

        return config;
    }

    /// <summary>Produces on the current producer; completes once Kafka acknowledged (or refused) the message.</summary>
    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync(string topic, Message<byte[], byte[]> message, CancellationToken cancellationToken) =>
        _producer.ProduceAsync(topic, message, cancellationToken);

    /// <summary>Delivers what is queued, up to <paramref name="deadline"/>, then closes the producer.</summary>
    public void FlushAndClose(TimeSpan deadline) => _producer.FlushAndClose(deadline);

    public void Dispose() => _producer.Dispose();
}
