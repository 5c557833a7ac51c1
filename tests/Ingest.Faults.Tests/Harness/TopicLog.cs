using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.DeadLetter;
using Ingest.Contracts.Envelope;

namespace Ingest.Faults.Tests.Harness;

/// <summary>Reads a topic (the payload topic, or its dead-letter topic) from its start to its current end.</summary>
public static class TopicLog
{
    /// <summary>(session, seq) of every dead letter of <paramref name="topic"/>, with its error header.</summary>
    public static List<(string Session, long Seq, string Error)> DeadLetters(string bootstrapServers, string topic, int partitions) =>
        [.. Read(bootstrapServers, IngestTopics.DeadLetterFor(topic), partitions).Select(r =>
        {
            var envelope = PayloadEnvelope.ReadFrom(r.Message.Headers);
            var error = r.Message.Headers.TryGetLastBytes(DeadLetterHeaders.Error, out var bytes) ? System.Text.Encoding.UTF8.GetString(bytes) : "";
            return (envelope.SessionId, envelope.Seq, error);
        })];

    /// <summary>Where the messages of the given (session, seq) sit in the payload topic: "p/offset chunk i[ last]" each.</summary>
    public static Dictionary<(string Session, long Seq), List<string>> Locate(
        string bootstrapServers, string topic, int partitions, IReadOnlyCollection<(string Session, long Seq)> wanted)
    {
        var found = wanted.ToDictionary(w => w, _ => new List<string>());
        foreach (var record in Read(bootstrapServers, topic, partitions))
        {
            var envelope = PayloadEnvelope.ReadFrom(record.Message.Headers);
            if (found.TryGetValue((envelope.SessionId, envelope.Seq), out var places))
            {
                places.Add($"{record.Partition.Value}/{record.Offset.Value} payload {envelope.PayloadId:N} chunk {envelope.ChunkIndex}{(envelope.IsLastChunk ? " last" : "")}");
            }
        }

        return found;
    }

    private static List<ConsumeResult<byte[], byte[]>> Read(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"faults-check-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
        }).Build();
        var records = new List<ConsumeResult<byte[], byte[]>>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var p = 0; p < partitions; p++)
        {
            var partition = new TopicPartition(topic, p);
            var end = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
            if (end <= 0)
            {
                continue;
            }

            consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
            var reached = false;
            while (!reached && DateTime.UtcNow < deadline)
            {
                var record = consumer.Consume(TimeSpan.FromSeconds(1));
                if (record is null || record.IsPartitionEOF)
                {
                    continue;
                }

                records.Add(record);
                reached = record.Offset.Value + 1 >= end;
            }

            Assert.True(reached, $"could not read {topic}/{p} to its end ({end}) within 30 s");
        }

        return records;
    }
}
