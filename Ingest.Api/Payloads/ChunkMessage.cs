using System.Buffers;
using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Api.Payloads;

/// <summary>One chunk of an upload as the Kafka message the publisher produces.</summary>
public static class ChunkMessage
{
    /// <summary>Bytes a record adds to its value, key and headers in the log: its own framing and a share of its batch's.</summary>
    private const int RecordOverhead = 96;

    /// <summary>
    /// The chunk as a message: its <paramref name="envelope"/> (from <see cref="Contracts.Chunking.ChunkSequenceWriter"/>)
    /// as headers, <see cref="PayloadCodec"/> value.
    /// </summary>
    public static Message<byte[], byte[]> Encode(byte[] key, PayloadEnvelope envelope, Chunk chunk, Activity? activity)
    {
        byte[] value;
        var scratch = ArrayPool<byte>.Shared.Rent(PayloadCodec.MaxEncodedLength(chunk.Length));
        try
        {
            // Confluent.Kafka takes a whole byte[] (and copies it into librdkafka's queue): one exact-size copy.
            value = scratch.AsSpan(0, PayloadCodec.Encode(chunk.Data, scratch)).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        chunk.ReturnBuffer();
        var message = new Message<byte[], byte[]> { Key = key, Value = value, Headers = envelope.WriteTo([]) };
        PublishTelemetry.InjectTraceContext(activity, message.Headers);
        return message;
    }

    /// <summary>Bytes the message takes in the log, as the backlog guard counts them.</summary>
    public static long SizeOf(Message<byte[], byte[]> message)
    {
        long size = message.Key.Length + message.Value.Length + RecordOverhead;
        foreach (var header in message.Headers)
        {
            size += header.Key.Length + header.GetValueBytes().Length;
        }

        return size;
    }
}
