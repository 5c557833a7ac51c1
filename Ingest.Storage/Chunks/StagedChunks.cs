using System.Data;
using Ingest.Storage.Payloads;
using Npgsql;
using NpgsqlTypes;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Chunks;

/// <summary>
/// <c>ingest.payload_chunks</c>: each chunk's PayloadCodec block under its payload id and index, staged as it arrives
/// (idempotently) and read back in index order — by the worker to verify an upload, by the API to serve a chunked
/// payload, by a redrive to send it again.
/// </summary>
internal static class StagedChunks
{
    private const string StageSql =
        """
        INSERT INTO ingest.payload_chunks (payload_id, chunk_index, length, body, kafka_partition, kafka_offset, expires_at)
        SELECT $1, $2, $3, $4, $5, $6, $7
        WHERE NOT EXISTS (SELECT 1 FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index = $2)
        """;

    private const string ReadSql =
        "SELECT chunk_index, body FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index < $2 ORDER BY chunk_index";

    /// <summary>
    /// Stages <paramref name="chunk"/> (<paramref name="decodedLength"/> bytes once decoded) in the partition of
    /// <paramref name="expiresAt"/>; a chunk already staged stays (the upload's writer holds its pending row's lock).
    /// </summary>
    public static Task<int> StageAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, int decodedLength, DateTimeOffset expiresAt, CancellationToken ct) =>
        ExecuteAsync(connection, transaction, StageSql, ct,
            Uuid(chunk.Envelope.PayloadId), Int(chunk.Envelope.ChunkIndex), Int(decodedLength), Bytes(chunk.Body), Int(chunk.Partition), Long(chunk.Offset),
            Time(expiresAt));

    public static async Task<bool> ExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, int index, CancellationToken ct)
    {
        await using var command = Command(connection, transaction,
            "SELECT 1 FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index = $2", Uuid(payloadId), Int(index));
        return await command.ExecuteScalarAsync(ct) is not null;
    }

    /// <summary>The staged chunks' Kafka offsets, comma-separated in index order: a dead letter's reference to them.</summary>
    public static async Task<string> OffsetsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await using var command = Command(connection, transaction,
            "SELECT coalesce(string_agg(kafka_offset::text, ',' ORDER BY chunk_index), '') FROM ingest.payload_chunks WHERE payload_id = $1",
            Uuid(payloadId));
        return (string)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Deletes the upload's staged chunks; returns how many there were.</summary>
    public static Task<int> DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct) =>
        ExecuteAsync(connection, transaction, "DELETE FROM ingest.payload_chunks WHERE payload_id = $1", ct, Uuid(payloadId));

    /// <summary>Deletes the staged chunks of the uploads <paramref name="payloadIds"/>.</summary>
    public static Task<int> DeleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid[] payloadIds, CancellationToken ct) =>
        ExecuteAsync(connection, transaction, "DELETE FROM ingest.payload_chunks WHERE payload_id = ANY($1)", ct,
            new NpgsqlParameter<Guid[]> { TypedValue = payloadIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });

    /// <summary>
    /// Calls <paramref name="onChunk"/> with each staged chunk block of <paramref name="payloadId"/> below index
    /// <paramref name="below"/>, in index order, one row in memory at a time; returns how many there were.
    /// </summary>
    public static async Task<int> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid payloadId, int below,
        Func<int, byte[], CancellationToken, ValueTask> onChunk, CancellationToken ct)
    {
        await using var command = Command(connection, transaction, ReadSql, Uuid(payloadId), Int(below));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        var count = 0;
        while (await reader.ReadAsync(ct))
        {
            var index = reader.GetInt32(0);
            await onChunk(index, await reader.GetFieldValueAsync<byte[]>(1, ct), ct);
            count++;
        }

        return count;
    }
}
