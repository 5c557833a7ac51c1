using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.DeadLetter;
using Ingest.Worker.Consuming;
using Ingest.Worker.Resilience;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Options;
using Polly;

namespace Ingest.Worker.DeadLetter;

/// <summary>
/// Sends messages that can never be stored to the topic's dead-letter topic (<c>{topic}.dlq</c>) with an
/// idempotent acks=all producer, and returns only once the broker has them: the caller then marks the
/// offset finished, so a poison message never blocks its partition and is never lost.
/// </summary>
public sealed class DeadLetterProducer : IDisposable
{
    private readonly ProducerConfig _config;
    private readonly KafkaClientLog _clientLog;
    private readonly ILogger<DeadLetterProducer> _logger;
    private readonly ResiliencePipeline _retry;
    private readonly Lock _gate = new();
    private readonly List<IProducer<byte[]?, byte[]?>> _retired = [];
    private IProducer<byte[]?, byte[]?>? _producer;

    public DeadLetterProducer(
        IOptions<KafkaOptions> kafka, KafkaClientLog clientLog, TimeProvider timeProvider, ILogger<DeadLetterProducer> logger)
    {
        _config = kafka.Value.BuildProducerConfig();
        _clientLog = clientLog;
        _logger = logger;
        // The payload must reach the DLQ before its offset may be committed: retry until cancelled.
        _retry = RetryUntilCancelled.Create(
            timeProvider,
            new PredicateBuilder().Handle<KafkaException>(),
            delay: TimeSpan.FromMilliseconds(200),
            maxDelay: TimeSpan.FromSeconds(15),
            args =>
            {
                Log.SendRetry(_logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!.Message);
                return default;
            });
    }

    /// <summary>Sends <paramref name="message"/> with the reason it failed and waits for the broker's ack.</summary>
    public async Task SendAsync(ConsumeResult<byte[]?, byte[]?> message, DeadLetterReason reason, CancellationToken cancellationToken)
    {
        var headers = new Headers();
        foreach (var header in message.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        DeadLetterHeaders.Write(headers, message.TopicPartitionOffset, reason);
        var letter = new Message<byte[]?, byte[]?> { Key = message.Message.Key, Value = message.Message.Value, Headers = headers };
        var topic = IngestTopics.DeadLetterFor(message.Topic);

        var result = await _retry.ExecuteAsync(
            async token =>
            {
                var producer = Producer();
                try
                {
                    return await producer.ProduceAsync(topic, letter, token);
                }
                catch (ProduceException<byte[]?, byte[]?> ex) when (ex.Error.IsFatal)
                {
                    Rebuild(producer); // an idempotent producer's fatal error makes it unusable
                    throw;
                }
            },
            cancellationToken);
        Log.DeadLettered(_logger, message.Topic, message.Partition.Value, message.Offset.Value, result.TopicPartitionOffset.ToString(), reason.Error);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var retired in _retired)
            {
                retired.Dispose();
            }

            _retired.Clear();
            if (_producer is null)
            {
                return;
            }

            // Every send is awaited, so nothing should be in flight; the flush is a safety net with a deadline.
            _producer.Flush(TimeSpan.FromSeconds(10));
            _producer.Dispose();
            _producer = null;
        }
    }

    private IProducer<byte[]?, byte[]?> Producer()
    {
        lock (_gate)
        {
            return _producer ??= new ProducerBuilder<byte[]?, byte[]?>(_config)
                .SetErrorHandler((_, e) => _clientLog.Error(_config.ClientId ?? "dlq", e))
                .SetLogHandler((_, m) => _clientLog.Log(m))
                .Build();
        }
    }

    private void Rebuild(IProducer<byte[]?, byte[]?> broken)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_producer, broken))
            {
                // Other lanes may still be awaiting it: dispose it with the rest, not under their feet.
                _producer = null;
                _retired.Add(broken);
            }
        }
    }
}
