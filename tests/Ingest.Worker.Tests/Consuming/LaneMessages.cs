using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>Kafka messages of one partition as a lane receives them, built in memory (no broker).</summary>
internal static class LaneMessages
{
    public const string Topic = "lane-unit";

    public static readonly TopicPartition Partition = new(Topic, 0);

    /// <summary>A payload message as the API produces it: session <c>s</c>, seq = offset, a small body.</summary>
    public static ConsumeResult<byte[]?, byte[]?> Payload(long offset, DateTimeOffset logTime, int bodyBytes = 16)
    {
        var body = new byte[bodyBytes];
        var envelope = new PayloadEnvelope(
            "unit", "s", offset, "application/octet-stream", PayloadCodec.Name, logTime, Guid.NewGuid(), body.Length, 0);
        return At(offset, new Message<byte[]?, byte[]?>
        {
            Key = envelope.Key,
            Value = PayloadCodec.Encode(body),
            Headers = envelope.WriteTo(new Headers()),
            Timestamp = new Timestamp(logTime.UtcDateTime, TimestampType.CreateTime),
        });
    }

    /// <summary>A message without an envelope: never storable.</summary>
    public static ConsumeResult<byte[]?, byte[]?> Garbage(long offset) =>
        At(offset, new Message<byte[]?, byte[]?> { Value = [1, 2, 3], Headers = [] });

    /// <summary>A message of <paramref name="bytes"/> value bytes; the lane never looks inside.</summary>
    public static ConsumeResult<byte[]?, byte[]?> Sized(long offset, int bytes) =>
        At(offset, new Message<byte[]?, byte[]?> { Value = new byte[bytes] });

    private static ConsumeResult<byte[]?, byte[]?> At(long offset, Message<byte[]?, byte[]?> message) =>
        new() { TopicPartitionOffset = new(Partition, new Offset(offset)), Message = message };
}
