using Confluent.Kafka;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Npgsql;
using Xunit;

namespace Ingest.Testing;

/// <summary>
/// Chunk messages for tests, cut and checked by the contract's own rules (<see cref="ChunkSequenceWriter"/>,
/// <see cref="ChunkSequenceVerifier"/>): what a test produces is what the API produces, and what it reads back is held to
/// what the worker holds it to.
/// </summary>
public static class Chunks
{
    /// <summary>
    /// One chunk message per <paramref name="chunkBytes"/> of <paramref name="bytes"/>, in order, under
    /// <paramref name="upload"/>'s envelope (its length and checksum are replaced by the running totals).
    /// </summary>
    public static List<(PayloadEnvelope Envelope, byte[] Value)> Split(PayloadEnvelope upload, byte[] bytes, int chunkBytes) =>
        [.. ChunkSequenceWriter.Split(upload, bytes, chunkBytes).Select(c => (c.Envelope, PayloadCodec.Encode(c.Data.Span)))];

    /// <summary>The abort marker of the upload whose last produced chunk is <paramref name="lastProduced"/>.</summary>
    public static (PayloadEnvelope Envelope, byte[] Value) AbortMarker((PayloadEnvelope Envelope, byte[] Value) lastProduced) =>
        (ChunkSequenceWriter.AbortMarkerAfter(lastProduced.Envelope), PayloadCodec.Encode([]));

    /// <summary>The chunk as a Kafka message under its session key, optionally with an explicit log timestamp.</summary>
    public static Message<byte[], byte[]> Message((PayloadEnvelope Envelope, byte[] Value) chunk, DateTime? timestamp = null) => new()
    {
        Key = chunk.Envelope.Key,
        Value = chunk.Value,
        Headers = chunk.Envelope.WriteTo(new Headers()),
        Timestamp = timestamp is { } t ? new Timestamp(t, TimestampType.CreateTime) : default,
    };

    /// <summary>Produces one chunk, optionally with an explicit log timestamp.</summary>
    public static Task<DeliveryResult<byte[], byte[]>> ProduceAsync(
        IProducer<byte[], byte[]> producer, string topic, (PayloadEnvelope Envelope, byte[] Value) chunk, CancellationToken ct, DateTime? timestamp = null) =>
        producer.ProduceAsync(topic, Message(chunk, timestamp), ct);

    /// <summary>A stored chunked payload's bytes, decoded from its staged chunks in order.</summary>
    public static async Task<byte[]> ReassembleAsync(string connectionString, Guid payloadId, CancellationToken ct)
    {
        using var output = new MemoryStream();
        await ReadStoredAsync(connectionString, payloadId, output, ct);
        return output.ToArray();
    }

    /// <summary>Count, length and XxHash3 of a stored chunked payload's staged chunks, streamed in order.</summary>
    public static Task<ChunkTotals> StoredTotalsAsync(string connectionString, Guid payloadId, CancellationToken ct) =>
        ReadStoredAsync(connectionString, payloadId, null, ct);

    /// <summary>Streams the staged chunks of <paramref name="payloadId"/> through a verifier (asserting their indexes follow), decoded into <paramref name="output"/> if given.</summary>
    private static async Task<ChunkTotals> ReadStoredAsync(string connectionString, Guid payloadId, Stream? output, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT chunk_index, body FROM ingest.payload_chunks WHERE payload_id = $1 ORDER BY chunk_index", connection)
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = payloadId } },
        };
        var verifier = new ChunkSequenceVerifier();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            using var decoded = DecodedBlock.Decode((byte[])reader[1]);
            var verdict = verifier.Add(reader.GetInt32(0), decoded.Span);
            Assert.False(verdict.IsCorrupt, verdict.Reason);
            output?.Write(decoded.Span);
        }

        return new ChunkTotals(verifier.Position.Next, verifier.Position.Length, verifier.Checksum);
    }
}
