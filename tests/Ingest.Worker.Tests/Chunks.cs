using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Npgsql;

namespace Ingest.Worker.Tests;

/// <summary>Splits a payload into chunk messages as the API does (running length and checksum) and reads chunks back.</summary>
public static class Chunks
{
    /// <summary>One chunk message per <paramref name="chunkBytes"/> of <paramref name="bytes"/>, in order.</summary>
    public static List<(PayloadEnvelope Envelope, byte[] Value)> Split(string sessionId, long seq, byte[] bytes, int chunkBytes)
    {
        var first = WorkerScenario.EnvelopeFor(sessionId, seq, bytes);
        var hash = new XxHash3();
        var chunks = new List<(PayloadEnvelope, byte[])>();
        for (int offset = 0, index = 0; offset < bytes.Length; offset += chunkBytes, index++)
        {
            var part = bytes.AsSpan(offset, Math.Min(chunkBytes, bytes.Length - offset));
            hash.Append(part);
            var envelope = first with
            {
                ChunkIndex = index,
                IsLastChunk = offset + part.Length == bytes.Length,
                Length = offset + part.Length,
                Checksum = hash.GetCurrentHashAsUInt64(),
            };
            chunks.Add((envelope, PayloadCodec.Encode(part)));
        }

        return chunks;
    }

    /// <summary>
    /// The abort marker of the upload whose last produced chunk is <paramref name="lastProduced"/>, as PayloadChunking
    /// defines it: the next index, running totals unchanged, <c>ingest-abort=1</c>, an empty codec block.
    /// </summary>
    public static (PayloadEnvelope Envelope, byte[] Value) AbortMarker((PayloadEnvelope Envelope, byte[] Value) lastProduced) =>
        (lastProduced.Envelope with { ChunkIndex = lastProduced.Envelope.ChunkIndex + 1, IsLastChunk = false, IsAbort = true }, PayloadCodec.Encode([]));

    /// <summary>Produces one chunk, optionally with an explicit log timestamp.</summary>
    public static Task<DeliveryResult<byte[], byte[]>> ProduceAsync(
        WorkerScenario scenario, (PayloadEnvelope Envelope, byte[] Value) chunk, CancellationToken ct, DateTime? timestamp = null) =>
        scenario.Producer.ProduceAsync(scenario.Topic, new Message<byte[], byte[]>
        {
            Key = chunk.Envelope.Key,
            Value = chunk.Value,
            Headers = chunk.Envelope.WriteTo(new Headers()),
            Timestamp = timestamp is { } t ? new Timestamp(t, TimestampType.CreateTime) : default,
        }, ct);

    /// <summary>A stored chunked payload's bytes, decoded from its staged chunks in order.</summary>
    public static async Task<byte[]> ReassembleAsync(string connectionString, Guid payloadId, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT body FROM ingest.payload_chunks WHERE payload_id = $1 ORDER BY chunk_index", connection)
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = payloadId } },
        };
        using var output = new MemoryStream();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            output.Write(PayloadCodec.Decode((byte[])reader[0]));
        }

        return output.ToArray();
    }

}
