using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Npgsql;

namespace Ingest.Ops.Redrive;

/// <summary>
/// Copies dead letters back to the payload topic, so a payload fixed at its cause is stored — at a later
/// position than when it first came. A whole payload is copied as is (key, value, envelope headers; the
/// worker's <c>ingest-dlq-*</c> headers dropped). A chunked payload's letter is its last chunk and a
/// reference to the chunks staged before it: it is re-sent as a fresh upload (new payload id, same session
/// and seq) from the staged chunks and the letter, and the old staging is removed. The one implementation,
/// behind <c>ingest-ops dlq redrive</c>.
/// </summary>
public static class Redriver
{
    /// <summary>Header naming where a redriven message came from (<c>{dlq} [{partition}] @{offset}</c>).</summary>
    public const string RedrivenFromHeader = DeadLetterHeaders.RedrivenFrom;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Redrives what <paramref name="request"/> selects; throws <see cref="RedriveException"/> at the first letter it cannot.</summary>
    public static async Task<RedriveReport> RunAsync(RedriveRequest request, CancellationToken cancellationToken)
    {
        var partitions = Partitions(request.BootstrapServers, request.DeadLetterTopic);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = request.BootstrapServers,
            GroupId = request.Group,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 10,
        }).SetLogHandler(Quiet).SetErrorHandler(Quiet).Build();
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = request.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner, // the session's partition, as the API would choose it
            MessageMaxBytes = 134217728,
        }).SetLogHandler(Quiet).SetErrorHandler(Quiet).Build();
        await using var store = request.ConnectionString is { Length: > 0 } cs ? NpgsqlDataSource.Create(cs) : null;
        var redrive = new Redrive(request, producer, store);

        var letters = new List<RedrivenLetter>();
        if (request.Positions is { } positions)
        {
            foreach (var (partition, offset) in positions)
            {
                if (!partitions.Any(p => p.Partition.Value == partition))
                {
                    throw new RedriveException($"{request.DeadLetterTopic} has no partition {partition}");
                }

                var letter = ReadAt(consumer, new TopicPartitionOffset(request.DeadLetterTopic, partition, offset), cancellationToken)
                    ?? throw new RedriveException($"no dead letter at {partition}:{offset} in {request.DeadLetterTopic}");
                letters.Add(await redrive.OneAsync(letter, cancellationToken));
            }

            return new RedriveReport(request.DeadLetterTopic, request.DryRun, letters);
        }

        var committed = consumer.Committed(partitions, Timeout);
        consumer.Assign(committed.Select(c => new TopicPartitionOffset(c.TopicPartition, c.Offset == Offset.Unset ? Offset.Beginning : c.Offset)));
        var atEnd = new HashSet<int>();
        while (atEnd.Count < partitions.Count)
        {
            var result = consumer.Consume(cancellationToken);
            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                continue;
            }

            atEnd.Remove(result.Partition.Value);
            letters.Add(await redrive.OneAsync(result, cancellationToken));
            if (!request.DryRun)
            {
                consumer.Commit([new TopicPartitionOffset(result.TopicPartition, result.Offset + 1)]);
            }
        }

        return new RedriveReport(request.DeadLetterTopic, request.DryRun, letters);
    }

    /// <summary>Parses <c>PARTITION:OFFSET</c>; null when it is not one.</summary>
    public static (int Partition, long Offset)? ParsePosition(string text)
    {
        var parts = text.Split(':');
        return parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var partition)
            && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset)
            ? (partition, offset)
            : null;
    }

    /// <summary>librdkafka's own logging would bury the one line a tool prints; failures surface as exceptions.</summary>
    internal static void Quiet<TClient, TEvent>(TClient client, TEvent message)
    {
    }

    internal static string? Header(Headers? headers, string name) =>
        headers?.TryGetLastBytes(name, out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;

    private static ConsumeResult<byte[]?, byte[]?>? ReadAt(IConsumer<byte[]?, byte[]?> consumer, TopicPartitionOffset position, CancellationToken cancellationToken)
    {
        consumer.Assign(position);
        try
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (DateTime.UtcNow < deadline)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } result)
                {
                    // Past the end, or the offset is gone (retention): librdkafka reports EOF or a later offset.
                    return !result.IsPartitionEOF && result.Offset == position.Offset ? result : null;
                }
            }

            throw new RedriveException($"no answer from {position.Topic} [{position.Partition.Value}] within {Timeout.TotalSeconds:0} s");
        }
        finally
        {
            consumer.Unassign();
        }
    }

    private static List<TopicPartition> Partitions(string bootstrap, string topic)
    {
        // Asking for the topic by name must not create it on a broker that auto-creates topics.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, AllowAutoCreateTopics = false })
            .SetLogHandler(Quiet).SetErrorHandler(Quiet).Build();
        Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(topic, Timeout);
        }
        catch (KafkaException ex)
        {
            throw new RedriveException($"cannot reach the broker at {bootstrap}: {ex.Error.Reason}", ex);
        }

        var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.IsError || found.Partitions.Count == 0)
        {
            throw new RedriveException($"topic {topic} not found on {bootstrap}{(found is null ? "" : $": {found.Error.Reason}")}");
        }

        return [.. found.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value)];
    }

    /// <summary>One redrive run's clients.</summary>
    private sealed class Redrive(RedriveRequest request, IProducer<byte[]?, byte[]?> producer, NpgsqlDataSource? store)
    {
        public async Task<RedrivenLetter> OneAsync(ConsumeResult<byte[]?, byte[]?> letter, CancellationToken cancellationToken)
        {
            var where = $"{letter.Topic}/{letter.Partition.Value}@{letter.Offset.Value}";
            var headers = letter.Message.Headers;
            var target = request.Target ?? Header(headers, DeadLetterHeaders.Topic)
                ?? throw new RedriveException($"{where} has no {DeadLetterHeaders.Topic} header; pass --to");
            var error = Header(headers, DeadLetterHeaders.Error);
            PayloadEnvelope? envelope;
            try
            {
                envelope = PayloadEnvelope.ReadFrom(headers);
            }
            catch (EnvelopeException)
            {
                envelope = null; // an undecodable letter is copied as it came: the fix may be the consumer's
            }

            var session = envelope is null ? null : $"{envelope.ProjectId}/{envelope.SessionId}/{envelope.Seq}";
            if (envelope is { } e && !(e.ChunkIndex == 0 && e.IsLastChunk))
            {
                var (count, payloadId) = await ChunkedRedrive.SendAsync(
                    letter, e, target, producer, store, request.DryRun, Passthrough(letter), cancellationToken);
                return new RedrivenLetter(letter.Partition.Value, letter.Offset.Value, target, "chunked", session, count, payloadId, error);
            }

            if (!request.DryRun)
            {
                await producer.ProduceAsync(
                    target, new Message<byte[]?, byte[]?> { Key = letter.Message.Key, Value = letter.Message.Value, Headers = Passthrough(letter) }, cancellationToken);
            }

            return new RedrivenLetter(letter.Partition.Value, letter.Offset.Value, target, "message", session, 1, null, error);
        }

        /// <summary>The letter's headers without the worker's dead-letter ones, and where it is redriven from.</summary>
        private static Headers Passthrough(ConsumeResult<byte[]?, byte[]?> letter)
        {
            var headers = new Headers();
            foreach (var header in (letter.Message.Headers ?? []).Where(h => !DeadLetterHeaders.IsDeadLetterHeader(h.Key) && h.Key != RedrivenFromHeader))
            {
                headers.Add(header.Key, header.GetValueBytes());
            }

            headers.Add(RedrivenFromHeader, Encoding.UTF8.GetBytes(letter.TopicPartitionOffset.ToString()));
            return headers;
        }
    }
}
