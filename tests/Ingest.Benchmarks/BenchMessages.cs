using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.LoadGen;

namespace Ingest.Benchmarks;

/// <summary>Payload messages built exactly as the API builds a one-chunk payload, and a producer with the API's settings.</summary>
public static class BenchMessages
{
    public static async Task<byte[]> ContentAsync(long size, int seed, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await RecordingContent.WriteAsync(seed, size, buffer, cancellationToken);
        return buffer.ToArray();
    }

    public static Message<byte[], byte[]> Build(string session, long seq, byte[] payload) => Build(session, seq, payload, PayloadCodec.Encode(payload));

    public static Message<byte[], byte[]> Build(string session, long seq, byte[] payload, byte[] encoded)
    {
        var envelope = new PayloadEnvelope(
            "bench", session, seq, "application/json", PayloadCodec.Name, DateTimeOffset.UtcNow, Guid.NewGuid(),
            payload.Length, XxHash3.HashToUInt64(payload));
        return new Message<byte[], byte[]> { Key = envelope.Key, Value = encoded, Headers = envelope.WriteTo([]) };
    }

    /// <summary>acks=all, idempotent, murmur2_random, no producer compression, linger 5 ms: the API's settings.</summary>
    public static IProducer<byte[], byte[]> Producer(Stack stack) =>
        new ProducerBuilder<byte[], byte[]>(stack.Kafka.Configure(new ProducerConfig
        {
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner,
            CompressionType = CompressionType.None,
            LingerMs = 5,
            MessageMaxBytes = 8 * 1024 * 1024,
        })).Build();
}
