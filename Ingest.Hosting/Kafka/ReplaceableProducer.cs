using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Ingest.Hosting.Kafka;

/// <summary>
/// A producer that outlives fatal errors. A fatal error (an idempotent producer's broken sequence, a fenced
/// transactional id, …) leaves a librdkafka producer unusable for good, so a new one is built from the same
/// configuration and swapped in atomically; the failed one is flushed (librdkafka fails what it still holds, and the
/// flush serves those reports, so whoever awaits them hears it now) and disposed. The first producer is built on first use.
/// </summary>
/// <remarks>
/// A caller that took the failed producer just before the swap may get <see cref="ObjectDisposedException"/> from it;
/// callers treat that like a <see cref="KafkaException"/> (retry, or refuse the request).
/// </remarks>
public sealed class ReplaceableProducer<TKey, TValue> : IDisposable
{
    private static readonly TimeSpan FailedFlush = TimeSpan.FromSeconds(5);

    private readonly ProducerConfig _config;
    private readonly KafkaClientLog _clientLog;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private IProducer<TKey, TValue>? _producer;
    private int _generation;
    private int _replacing;
    private bool _closed;

    /// <param name="config">Every producer's configuration; <c>client.id</c> names it in the log.</param>
    /// <param name="clientLog">Where its librdkafka errors, logs and statistics go.</param>
    /// <param name="logger">Where its start, replacement and close are logged.</param>
    public ReplaceableProducer(ProducerConfig config, KafkaClientLog clientLog, ILogger logger)
    {
        _config = config;
        _clientLog = clientLog;
        _logger = logger;
        Name = config.ClientId ?? "producer";
    }

    /// <summary>The client name in the log (<c>client.id</c>).</summary>
    public string Name { get; }

    /// <summary>How many producers have been built: 1, plus one per replacement.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>True from a fatal error until the replacement is in place (for good if building it failed).</summary>
    public bool IsReplacing => Volatile.Read(ref _replacing) != 0;

    /// <summary>The current producer, built now if none was yet; the last one once closed.</summary>
    /// <exception cref="InvalidOperationException">librdkafka refused the configuration (the message names <c>Kafka:*</c>).</exception>
    public IProducer<TKey, TValue> Current
    {
        get
        {
            if (Volatile.Read(ref _producer) is { } producer)
            {
                return producer;
            }

            lock (_gate)
            {
                return _producer ??= Build();
            }
        }
    }

    /// <summary>
    /// Produces on the current producer. A fatal error reaches the error handler too (librdkafka raises every fatal error
    /// there), which starts the replacement; the caller retries or refuses.
    /// </summary>
    public Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken) =>
        Current.ProduceAsync(topic, message, cancellationToken);

    /// <summary>Starts replacing <paramref name="failed"/>, unless it is no longer current or a replacement is under way.</summary>
    public void Replace(IProducer<TKey, TValue> failed)
    {
        if (ReferenceEquals(failed, Volatile.Read(ref _producer)) && Interlocked.CompareExchange(ref _replacing, 1, 0) == 0)
        {
            // Not on the caller's thread: from the error handler it is the failed producer's poll thread, which Dispose waits for.
            _ = Task.Run(() => ReplaceNow(failed));
        }
    }

    /// <summary>Delivers what is queued, up to <paramref name="deadline"/>, then closes the producer for good.</summary>
    public void FlushAndClose(TimeSpan deadline)
    {
        IProducer<TKey, TValue>? producer;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            producer = _producer;
        }

        if (producer is null)
        {
            return;
        }

        var left = producer.Flush(deadline);
        if (left > 0)
        {
            Log.FlushIncomplete(_logger, left, Name, deadline);
        }

        producer.Dispose();
        Log.Closed(_logger, Name);
    }

    /// <summary>Closes without waiting for queued messages.</summary>
    public void Dispose() => FlushAndClose(TimeSpan.Zero);

    private IProducer<TKey, TValue> Build()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        IProducer<TKey, TValue> producer;
        try
        {
            producer = new ProducerBuilder<TKey, TValue>(_config)
                .SetErrorHandler(OnError)
                .SetLogHandler((_, message) => _clientLog.Log(message))
                .SetStatisticsHandler((_, json) => _clientLog.Statistics(Name, json))
                .Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            // Confluent.Kafka reports an unknown or invalid property as InvalidOperationException.
            throw new InvalidOperationException($"librdkafka rejected the {KafkaSettings.Section}:* settings: {ex.Message}", ex);
        }

        Log.ProducerStarted(_logger, Name, Interlocked.Increment(ref _generation), _config.BootstrapServers);
        return producer;
    }

    private void OnError(IProducer<TKey, TValue> producer, Error error)
    {
        _clientLog.Error(Name, error); // a fatal one at Critical
        if (error.IsFatal)
        {
            Replace(producer); // a producer already replaced may still report: only the current one is replaced
        }
    }

    private void ReplaceNow(IProducer<TKey, TValue> failed)
    {
        try
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                Volatile.Write(ref _producer, Build());
            }
        }
        catch (InvalidOperationException ex)
        {
            // Only a settings error fails Build, and those failed the first build already; stay replacing.
            Log.ReplaceFailed(_logger, Name, ex);
            return;
        }

        Volatile.Write(ref _replacing, 0);
        Log.Replaced(_logger, Name, Generation);
        failed.Flush(FailedFlush);
        failed.Dispose();
    }
}
