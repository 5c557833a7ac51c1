using Ingest.Contracts.Chunking;
using Ingest.Storage.Payloads;
using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Chunks;

/// <summary>A pending upload's row: where its next chunk must continue, and whether it was dead-lettered or aborted.</summary>
internal readonly record struct PendingUpload(
    int Next, long Length, bool DeadLettered, long? LetterOffset, string? LetterError, bool Aborted, DateTimeOffset ExpiresAt);

/// <summary>
/// <c>ingest.pending_uploads</c>, inside the batch transaction: the chunked uploads whose last chunk is not stored yet,
/// the dead-lettered ones kept for a redrive, the aborted ones' tombstones, and the sweep of abandoned ones.
/// </summary>
internal static class PendingUploads
{
    private const string ReadSql =
        """
        SELECT next_chunk, length, dead_lettered, dead_letter_offset, dead_letter_error, aborted, expires_at
        FROM ingest.pending_uploads WHERE payload_id = $1 FOR UPDATE
        """;

    private const string ContinueSql =
        """
        INSERT INTO ingest.pending_uploads (payload_id, topic, kafka_partition, next_chunk, length, last_log_time, project, session_id, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (payload_id) DO UPDATE SET next_chunk = $4, length = $5, last_log_time = $6
        """;

    /// <summary>The upload's row, locked for the transaction; null when it is not pending.</summary>
    public static async Task<PendingUpload?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await using var command = Command(connection, transaction, ReadSql, Uuid(payloadId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new PendingUpload(reader.GetInt32(0), reader.GetInt64(1), reader.GetBoolean(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5),
                reader.GetFieldValue<DateTimeOffset>(6))
            : null;
    }

    /// <summary>
    /// Records that <paramref name="chunk"/> is staged: the upload stands at <paramref name="after"/>; a new upload expires at
    /// <paramref name="expiresAt"/> (its chunks' and its row's partition).
    /// </summary>
    public static Task<int> ContinueAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, ChunkPosition after, DateTimeOffset expiresAt, CancellationToken ct) =>
        ExecuteAsync(connection, transaction, ContinueSql, ct,
            Uuid(chunk.Envelope.PayloadId), Text(chunk.Topic), Int(chunk.Partition), Int(after.Next), Long(after.Length), Time(chunk.LogTime),
            Text(chunk.Envelope.ProjectId), Text(chunk.Envelope.SessionId), Time(expiresAt));

    /// <summary>The upload is finished (stored): it is no longer pending.</summary>
    public static Task<int> RemoveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct) =>
        ExecuteAsync(connection, transaction, "DELETE FROM ingest.pending_uploads WHERE payload_id = $1", ct, Uuid(payloadId));

    /// <summary>An abort marker came: the upload stays as an aborted tombstone (its chunks are gone).</summary>
    public static Task<int> MarkAbortedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload marker, CancellationToken ct) =>
        ExecuteAsync(connection, transaction,
            "UPDATE ingest.pending_uploads SET aborted = true, last_log_time = greatest(last_log_time, $2) WHERE payload_id = $1",
            ct, Uuid(marker.Envelope.PayloadId), Time(marker.LogTime));

    /// <summary>
    /// Keeps the staged chunks from the abandonment sweep until a redrive, makes later chunks of the upload
    /// redeliveries, and remembers which message (<paramref name="chunk"/>) is dead-lettered and why.
    /// </summary>
    public static Task<int> MarkDeadLetteredAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, int next, long length, string error, DateTimeOffset expiresAt,
        CancellationToken ct) =>
        ExecuteAsync(connection, transaction,
            """
            INSERT INTO ingest.pending_uploads (payload_id, topic, kafka_partition, next_chunk, length, last_log_time, dead_lettered,
                                                dead_letter_offset, dead_letter_error, project, session_id, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $9, $10, $11)
            ON CONFLICT (payload_id) DO UPDATE SET dead_lettered = true, last_log_time = $6, dead_letter_offset = $7, dead_letter_error = $8
            """,
            ct, Uuid(chunk.Envelope.PayloadId), Text(chunk.Topic), Int(chunk.Partition), Int(next), Long(length), Time(chunk.LogTime),
            Long(chunk.Offset), Text(error), Text(chunk.Envelope.ProjectId), Text(chunk.Envelope.SessionId), Time(expiresAt));

    /// <summary>
    /// Marks the upload of <paramref name="chunk"/> dead-lettered after the database refused the chunk (a data error
    /// that rolled its batch back): its staged chunks are kept — the abandonment sweep skips dead-lettered uploads —
    /// until a redrive re-sends them, and its later chunks are redeliveries. Returns the staged chunks' offsets,
    /// the letter's reference to them (<c>ingest-dlq-chunk-offsets</c>).
    /// </summary>
    public static async Task<string> MarkRefusedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, string error, DateTimeOffset expiresAt, CancellationToken ct)
    {
        var pending = await ReadAsync(connection, transaction, chunk.Envelope.PayloadId, ct);
        await MarkDeadLetteredAsync(
            connection, transaction, chunk, pending?.Next ?? chunk.Envelope.ChunkIndex, pending?.Length ?? 0, error, pending?.ExpiresAt ?? expiresAt, ct);
        return await StagedChunks.OffsetsAsync(connection, transaction, chunk.Envelope.PayloadId, ct);
    }

    /// <summary>Forgets the upload and its staged chunks (a gap made it unusable).</summary>
    public static async Task DiscardAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await RemoveAsync(connection, transaction, payloadId, ct);
        await StagedChunks.DeleteAsync(connection, transaction, payloadId, ct);
    }

    /// <summary>
    /// Discards the uploads of <paramref name="topic"/>/<paramref name="partition"/> whose latest chunk is
    /// older (log time) than <paramref name="before"/>; returns their payload ids (not those of aborted uploads, whose
    /// chunks went when their marker came: only their tombstones go now).
    /// </summary>
    public static async Task<List<Guid>> DiscardAbandonedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string topic, int partition, DateTimeOffset before, CancellationToken ct)
    {
        // The pending uploads first, alone: this runs in every batch's transaction and almost always finds nothing, and a
        // statement that also deletes from the partitioned chunk table costs a plan over all its partitions (measured: tens
        // of milliseconds per batch on 2 busy cores).
        var gone = new List<(Guid PayloadId, bool Aborted)>();
        await using (var command = Command(connection, transaction,
            """
            DELETE FROM ingest.pending_uploads
            WHERE topic = $1 AND kafka_partition = $2 AND NOT dead_lettered AND last_log_time < $3
            RETURNING payload_id, aborted
            """,
            Text(topic), Int(partition), Time(before)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                gone.Add((reader.GetGuid(0), reader.GetBoolean(1)));
            }
        }

        if (gone.Count > 0)
        {
            await StagedChunks.DeleteAsync(connection, transaction, [.. gone.Select(g => g.PayloadId)], ct);
        }

        return [.. gone.Where(g => !g.Aborted).Select(g => g.PayloadId)];
    }
}
