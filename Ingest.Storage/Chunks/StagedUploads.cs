using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Chunks;

/// <summary>
/// A dead-lettered chunked upload's staged chunks, as a redrive reads them: how many are staged, the blocks in order,
/// and forgetting them once the upload is sent again.
/// </summary>
public static class StagedUploads
{
    /// <summary>How many chunks below <paramref name="below"/> are staged, and the highest index among them (-1 for none).</summary>
    public static async Task<(long Staged, int Highest)> CountAsync(NpgsqlDataSource store, Guid payloadId, int below, CancellationToken ct)
    {
        await using var command = Command(store,
            "SELECT count(*), coalesce(max(chunk_index), -1) FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index < $2",
            Uuid(payloadId), Int(below));
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt32(1));
    }

    /// <summary>Calls <paramref name="onChunk"/> with each staged block below <paramref name="below"/>, in index order; returns how many.</summary>
    public static async Task<int> ReadAsync(
        NpgsqlDataSource store, Guid payloadId, int below, Func<int, byte[], CancellationToken, ValueTask> onChunk, CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct);
        return await StagedChunks.ReadAsync(connection, null, payloadId, below, onChunk, ct);
    }

    /// <summary>Removes the upload's staging (pending row and chunks), unless a stored row uses its chunks.</summary>
    public static async Task ForgetAsync(NpgsqlDataSource store, Guid payloadId, CancellationToken ct)
    {
        await using var command = Command(store,
            """
            WITH unused AS (SELECT $1::uuid AS id WHERE NOT EXISTS (SELECT 1 FROM ingest.payloads WHERE payload_id = $1)),
                 pending AS (DELETE FROM ingest.pending_uploads p USING unused WHERE p.payload_id = unused.id)
            DELETE FROM ingest.payload_chunks c USING unused WHERE c.payload_id = unused.id
            """,
            Uuid(payloadId));
        await command.ExecuteNonQueryAsync(ct);
    }
}
