using System.Globalization;
using Confluent.Kafka;
using Ingest.Api.Payloads;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Identity;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Kafka;

/// <summary>
/// The process's one Kafka producer. A fatal error (idempotence broken, fenced, …) leaves a librdkafka
/// producer unusable for good, so it is replaced by a new one: meanwhile the API is not ready and
/// requests on the failed producer get 503.
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

    private readonly ProducerConfig _config;
    private readonly ILogger<PayloadProducer> _logger;
    private readonly ClientEventLog _events;
    private readonly Lock _gate = new();
    private IProducer<byte[], byte[]> _producer;
    private int _generation;
    private int _rebuilding;
    private bool _disposed;

    public PayloadProducer(IOptions<KafkaSettings> kafka, IOptions<ApiOptions> api, ClientEventLog events, ILogger<PayloadProducer> logger)
    {
        _config = CreateConfig(kafka.Value, api.Value);
        _events = events;
        _logger = logger;
        MaxMessageBytes = int.TryParse(_config.Get("message.max.bytes"), NumberStyles.None, CultureInfo.InvariantCulture, out var max)
            ? max
            : DefaultMaxMessageBytes;
        var largestChunk = PayloadCodec.MaxEncodedLength(api.Value.ChunkBytes) + ChunkMessageOverhead;
        if (largestChunk > MaxMessageBytes)
        {
            throw new InvalidOperationException(
                $"{ApiOptions.Section}:ChunkBytes ({api.Value.ChunkBytes}) makes messages of up to {largestChunk} bytes, more than " +
                $"{KafkaSettings.Section}:message.max.bytes ({MaxMessageBytes}); lower the first or raise the second.");
        }

        _producer = Build();
    }

    /// <summary>Largest message librdkafka will send (<c>message.max.bytes</c>), key and headers included.</summary>
    public int MaxMessageBytes { get; }

    /// <summary>How many producers this process has built: 1, plus one per fatal-error rebuild.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>True from a fatal error until the replacement producer is in place.</summary>
    public bool IsRebuilding => Volatile.Read(ref _rebuilding) != 0;

    /// <summary>Handle of the current producer, for admin requests that share its connections.</summary>
    public Handle Handle => Volatile.Read(ref _producer).Handle;

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
            // Each request waits for linger + the delivery report (MEASURED.md: 1 KB is latency-bound).
            LingerMs = 5,
            MessageTimeoutMs = (int)api.DeliveryTimeout.TotalMilliseconds,
            // librdkafka queues up to 1 GiB by default; what it holds is at most what the in-flight budget
            // lets in (encoded chunks are no larger than decoded ones plus framing), plus 1 MiB of slack.
            QueueBufferingMaxKbytes = (int)Math.Min(int.MaxValue, (api.InFlightBudgetBytes / 1024) + 1024),
        };
        foreach (var (key, value) in kafka.Client)
        {
            config.Set(key, value);
        }

        return config;
    }

    /// <summary>Produces on the current producer; completes once Kafka acknowledged (or refused) the message.</summary>
    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync(string topic, Message<byte[], byte[]> message, CancellationToken cancellationToken) =>
        Volatile.Read(ref _producer).ProduceAsync(topic, message, cancellationToken);

    /// <summary>Delivers what is queued, up to <paramref name="deadline"/>, then closes the producer.</summary>
    public void FlushAndClose(TimeSpan deadline)
    {
        IProducer<byte[], byte[]> producer;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            producer = _producer;
        }

        var left = producer.Flush(deadline);
        if (left > 0)
        {
            Log.FlushIncomplete(_logger, left, deadline);
        }

        producer.Dispose();
        Log.Closed(_logger);
    }

    public void Dispose() => FlushAndClose(TimeSpan.Zero);

    private IProducer<byte[], byte[]> Build()
    {
        IProducer<byte[], byte[]> producer;
        try
        {
            producer = new ProducerBuilder<byte[], byte[]>(_config)
                .SetErrorHandler(OnError)
                .SetLogHandler(OnLog)
                .Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            // Confluent.Kafka reports an unknown or invalid property as InvalidOperationException.
            throw new InvalidOperationException($"librdkafka rejected the {KafkaSettings.Section}:* settings: {ex.Message}", ex);
        }

        var generation = Interlocked.Increment(ref _generation);
        Log.ProducerStarted(_logger, generation, _config.BootstrapServers, MaxMessageBytes);
        return producer;
    }

    private void OnError(IProducer<byte[], byte[]> producer, Error error)
    {
        if (!error.IsFatal)
        {
            _events.Post(logger => Log.ClientError(logger, error.Code, error.Reason));
            return;
        }

        _events.Post(logger => Log.FatalError(logger, error.Code, error.Reason));
        // A producer already replaced may still report; only the current one triggers a rebuild.
        if (ReferenceEquals(producer, Volatile.Read(ref _producer)) && Interlocked.CompareExchange(ref _rebuilding, 1, 0) == 0)
        {
            // Not on this thread: it is the failed producer's poll thread, which Dispose would wait for.
            _ = Task.Run(() => Replace(producer));
        }
    }

    private void Replace(IProducer<byte[], byte[]> failed)
    {
        try
        {
            var replacement = Build();
            lock (_gate)
            {
                if (_disposed)
                {
                    replacement.Dispose();
                    return;
                }

                Volatile.Write(ref _producer, replacement);
            }
        }
        catch (Exception ex)
        {
            // Only a settings error fails Build, and those failed start-up already; stay not ready.
            Log.RebuildFailed(_logger, ex);
            return;
        }

        Volatile.Write(ref _rebuilding, 0);
        Log.Rebuilt(_logger, Volatile.Read(ref _generation));

        // After a fatal error librdkafka fails every queued message; flushing serves those delivery
        // reports, so their requests get 503 now instead of hanging on a disposed producer.
        failed.Flush(TimeSpan.FromSeconds(5));
        failed.Dispose();
    }

    private void OnLog(IProducer<byte[], byte[]> producer, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
            SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        _events.Post(logger => Log.Librdkafka(logger, level, message.Facility, message.Message));
    }
}
