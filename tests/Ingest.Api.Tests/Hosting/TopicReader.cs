using Confluent.Kafka;
using Ingest.Testing;

namespace Ingest.Api.Tests.Hosting;

/// <summary>Reads what the API produced, straight from the broker.</summary>
public static class TopicReader
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The message at <paramref name="partition"/>/<paramref name="offset"/>.</summary>
    public static ConsumeResult<byte[], byte[]> ReadAt(KafkaFixture kafka, string topic, int partition, long offset)
    {
        using var consumer = Consumer(kafka);
        consumer.Assign(new TopicPartitionOffset(topic, partition, offset));
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                return result;
            }
        }

        throw new TimeoutException($"No message at {topic}/{partition}@{offset} within {Deadline}.");
    }

    /// <summary>Every message on every partition, read from the beginning to the high watermark.</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadAll(KafkaFixture kafka, string topic)
    {
        using var consumer = Consumer(kafka);
        using var admin = new AdminClientBuilder(kafka.Configure(new AdminClientConfig())).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId))
            .ToList();
        var ends = partitions.ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        var pending = ends.Where(e => e.Value > 0).Select(e => e.Key).ToHashSet();
        var messages = new List<ConsumeResult<byte[], byte[]>>();
        consumer.Assign(pending.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var until = DateTime.UtcNow + Deadline;
        while (pending.Count > 0)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"{pending.Count} partitions of {topic} not read to their end within {Deadline}.");
            }

            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                messages.Add(result);
                if (result.Offset.Value + 1 >= ends[result.TopicPartition])
                {
                    pending.Remove(result.TopicPartition);
                }
            }
        }

        return messages;
    }

    private static IConsumer<byte[], byte[]> Consumer(KafkaFixture kafka) =>
        new ConsumerBuilder<byte[], byte[]>(kafka.Configure(new ConsumerConfig
        {
            GroupId = $"api-tests-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        })).Build();
}
