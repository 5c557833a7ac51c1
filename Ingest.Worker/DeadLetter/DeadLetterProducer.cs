using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.DeadLetter;
using Ingest.Contracts.Identity;
using Ingest.Hosting.Kafka;
using Ingest.Storage.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Ingest.Worker.DeadLetter;

/// <summary>
/// Sends messages that can never be stored to the topic's dead-letter topic (<c>{topic}.dlq</c>) with an
/// idempotent acks=all producer, and returns only once the broker has them: the caller then marks the
/// offset finished, so a poison message never blocks its partition and is never lost. The producer is built at the
/// first dead letter and replaced after a fatal error (<see cref="ReplaceableProducer{TKey, TValue}"/>); a send on the
/// failed one is retried on its replacement.
/// </summary>
public sealed class DeadLetterProducer : IDisposable
{
    private readonly ReplaceableProducer<byte[]?, byte[]?> _producer;
    private readonly ILogger<DeadLetterProducer> _logger;
    private readonly ResiliencePipeline _retry;

    public DeadLetterProducer(
        IOptions<KafkaSettings> kafka, KafkaClientLog clientLog, TimeProvider timeProvider, ILogger<DeadLetterProducer> logger)
    {
        _producer = new ReplaceableProducer<byte[]?, byte[]?>(CreateConfig(kafka.Value), clientLog, logger);
        _logger = logger;
        // The payload must reach the DLQ before its offset may be committed: retry until cancelled.
        _retry = RetryUntilCancelled.Create(
            timeProvider,
            // ObjectDisposedException: the producer taken was replaced (after a fatal error) before it was used.
            new PredicateBuilder().Handle<KafkaException>().Handle<ObjectDisposedException>(),
            delay: TimeSpan.FromMilliseconds(200),
            maxDelay: TimeSpan.FromSeconds(15),
            args =>
            {
                Log.SendRetry(_logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!.Message);
                return default;
            });
    }

    /// <summary>
    /// The dead-letter producer's configuration: the <c>Kafka:*</c> passthrough without consumer-only properties, then
    /// acks=all, idempotent, the session partitioner.
    /// </summary>
    public static ProducerConfig CreateConfig(KafkaSettings kafka)
    {
        var config = new ProducerConfig(kafka.ProducerClient)
        {
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
        };
        config.SetIfAbsent("client.id", "ingest-worker-dlq");
        // A dead letter carries the original value, which may be far above the 1 MB default.
        config.SetIfAbsent("message.max.bytes", "134217728");
        return config;
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
            async token => await _producer.ProduceAsync(topic, letter, token), cancellationToken);
        Log.DeadLettered(_logger, message.Topic, message.Partition.Value, message.Offset.Value, result.TopicPartitionOffset.ToString(), reason.Error);
    }

    /// <summary>Every send is awaited, so nothing should be in flight; the flush is a safety net with a deadline.</summary>
    public void Dispose() => _producer.FlushAndClose(TimeSpan.FromSeconds(10));
}
