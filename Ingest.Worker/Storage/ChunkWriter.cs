using System.Buffers;
using System.Data;
using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Npgsql;
using NpgsqlTypes;

namespace Ingest.Worker.Storage;

/// <summary>
/// Stages one chunk of a chunked payload inside the batch transaction (PayloadChunking): checks it
/// continues its upload (index and running length), stages it idempotently, and on the last chunk
/// verifies the whole payload by streaming the staged chunks (one decoded at a time) before writing the
/// payloads row. All state lives in Postgres, so a redelivery after a rebalance finds it.
/// </summary>
internal static class ChunkWriter
{
    private const string PendingSql =
        """
        SELECT next_chunk, length, dead_lettered, dead_letter_offset, dead_letter_error, aborted
        FROM ingest.pending_uploads WHERE payload_id = $1 FOR UPDATE
        """;

    private const string StageSql =
        """
        INSERT INTO ingest.payload_chunks (payload_id, chunk_index, length, body, kafka_partition, kafka_offset)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (payload_id, chunk_index) DO NOTHING
        """;

    private const string StartSql =
        """
        INSERT INTO ingest.pending_uploads (payload_id, topic, kafka_partition, next_chunk, length, last_log_time)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (payload_id) DO UPDATE SET next_chunk = $4, length = $5, last_log_time = $6
        """;

    private const string InsertRowSql =
        """
        INSERT INTO ingest.payloads (project, session_id, seq, payload_id, content_type, length, checksum,
                                     encoding, body, kafka_partition, kafka_offset, received_at, chunk_count)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12)
        ON CONFLICT (project, session_id, seq) DO NOTHING
        """;

    /// <summary>Stages <paramref name="chunk"/> and, on the last one, stores its payload.</summary>
    public static async Task<StoreResult> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, CancellationToken ct)
    {
        var e = chunk.Envelope;
        if (e.IsAbort)
        {
            return await AbortAsync(connection, transaction, chunk, ct);
        }

        var decoded = PayloadCodec.GetDecodedLength(chunk.Body);
        var pending = await ReadPendingAsync(connection, transaction, e.PayloadId, ct);
        long stagedLength;
        if (pending is null)
        {
            if (e.ChunkIndex > 0 || await ChunkExistsAsync(connection, transaction, e.PayloadId, 0, ct))
            {
                // Its upload is finished (stored, discarded or never started here): a redelivery, or a gap.
                return await ChunkExistsAsync(connection, transaction, e.PayloadId, e.ChunkIndex, ct)
                    ? new StoreResult(StoreOutcome.ChunkRedelivery)
                    : new StoreResult(StoreOutcome.DataLoss, $"chunk {e.ChunkIndex} arrived but no earlier chunk of its upload is staged");
            }

            stagedLength = 0;
        }
        else
        {
            var (next, length, deadLettered, letterOffset, letterError, aborted) = pending.Value;
            if (deadLettered && letterOffset == chunk.Offset)
            {
                // This very message was dead-lettered, but its offset was not committed: its letter may never have
                // reached the DLQ (a crash or rebalance after the mark), so it is sent again.
                return new StoreResult(
                    StoreOutcome.Poison, letterError ?? "dead-lettered before", await ChunkOffsetsAsync(connection, transaction, e.PayloadId, ct));
            }

            if (deadLettered || aborted || e.ChunkIndex < next)
            {
                // An aborted upload's chunks come again only as redeliveries (the API never produces after the marker).
                return new StoreResult(StoreOutcome.ChunkRedelivery);
            }

            if (e.ChunkIndex > next)
            {
                await DiscardAsync(connection, transaction, e.PayloadId, ct);
                return new StoreResult(StoreOutcome.DataLoss, $"chunk {e.ChunkIndex} arrived after chunk {next - 1}: chunks {next}…{e.ChunkIndex - 1} are missing");
            }

            stagedLength = length;
        }

        if (stagedLength + decoded != e.Length)
        {
            var error = $"running length mismatch at chunk {e.ChunkIndex}: staged {stagedLength} + {decoded} decoded bytes, header says {e.Length}";
            await MarkDeadLetteredAsync(connection, transaction, chunk, e.ChunkIndex, stagedLength, error, ct);
            return new StoreResult(StoreOutcome.Poison, error, await ChunkOffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        await ExecuteAsync(connection, transaction, StageSql, ct,
            Uuid(e.PayloadId), Int(e.ChunkIndex), Int(decoded), Bytes(chunk.Body), Int(chunk.Partition), Long(chunk.Offset));
        await ExecuteAsync(connection, transaction, StartSql, ct,
            Uuid(e.PayloadId), Text(chunk.Topic), Int(chunk.Partition), Int(e.ChunkIndex + 1), Long(stagedLength + decoded), Time(chunk.LogTime));
        return e.IsLastChunk
            ? await CompleteAsync(connection, transaction, chunk, ct)
            : new StoreResult(StoreOutcome.ChunkStaged);
    }

    /// <summary>
    /// An abort marker: the API gave the upload up. Its staged chunks are deleted now and its pending row kept as an
    /// aborted tombstone (later redeliveries of its chunks are recognised; the sweep removes it). Idempotent, and a no-op
    /// for an upload that is not pending here — stored (its chunks belong to its row), already discarded, or never
    /// staged — or that is dead-lettered (its chunks wait for a redrive).
    /// </summary>
    private static async Task<StoreResult> AbortAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload marker, CancellationToken ct)
    {
        var id = marker.Envelope.PayloadId;
        if (await ReadPendingAsync(connection, transaction, id, ct) is not { DeadLettered: false, Aborted: false })
        {
            return new StoreResult(StoreOutcome.AbortIgnored);
        }

        var chunks = await ExecuteAsync(connection, transaction, "DELETE FROM ingest.payload_chunks WHERE payload_id = $1", ct, Uuid(id));
        await ExecuteAsync(connection, transaction,
            "UPDATE ingest.pending_uploads SET aborted = true, last_log_time = greatest(last_log_time, $2) WHERE payload_id = $1",
            ct, Uuid(id), Time(marker.LogTime));
        return new StoreResult(StoreOutcome.Aborted, $"{chunks} staged chunk(s) dropped");
    }

    /// <summary>
    /// Discards the uploads of <paramref name="topic"/>/<paramref name="partition"/> whose latest chunk is
    /// older (log time) than <paramref name="before"/>; returns their payload ids (not those of aborted uploads, whose
    /// chunks went when their marker came: only their tombstones go now).
    /// </summary>
    public static async Task<List<Guid>> DiscardAbandonedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string topic, int partition, DateTimeOffset before, CancellationToken ct)
    {
        await using var command = Command(connection, transaction,
            """
            WITH gone AS (
                DELETE FROM ingest.pending_uploads
                WHERE topic = $1 AND kafka_partition = $2 AND NOT dead_lettered AND last_log_time < $3
                RETURNING payload_id, aborted),
            chunks AS (DELETE FROM ingest.payload_chunks c USING gone WHERE c.payload_id = gone.payload_id)
            SELECT payload_id FROM gone WHERE NOT aborted
            """,
            Text(topic), Int(partition), Time(before));
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary>
    /// Marks the upload of <paramref name="chunk"/> dead-lettered after the database refused the chunk (a data error
    /// that rolled its batch back): its staged chunks are kept — the abandonment sweep skips dead-lettered uploads —
    /// until a redrive re-sends them, and its later chunks are redeliveries. Returns the staged chunks' offsets,
    /// the letter's reference to them (<c>ingest-dlq-chunk-offsets</c>).
    /// </summary>
    public static async Task<string> MarkRefusedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, string error, CancellationToken ct)
    {
        var (next, length, _, _, _, _) = await ReadPendingAsync(connection, transaction, chunk.Envelope.PayloadId, ct)
            ?? (chunk.Envelope.ChunkIndex, 0, false, null, null, false);
        await MarkDeadLetteredAsync(connection, transaction, chunk, next, length, error, ct);
        return await ChunkOffsetsAsync(connection, transaction, chunk.Envelope.PayloadId, ct);
    }

    private static async Task<StoreResult> CompleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload last, CancellationToken ct)
    {
        var e = last.Envelope;
        var (count, length, checksum) = await HashStagedAsync(connection, transaction, e.PayloadId, ct);
        if (count != e.ChunkIndex + 1 || length != e.Length || checksum != e.Checksum)
        {
            var error = $"reassembled payload does not verify: {count} chunks, {length} bytes, checksum {checksum:x16}; expected {e.ChunkIndex + 1} chunks, {e.Length} bytes, {e.Checksum:x16}";
            await MarkDeadLetteredAsync(connection, transaction, last, e.ChunkIndex + 1, length, error, ct);
            return new StoreResult(StoreOutcome.Poison, error, await ChunkOffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        await ExecuteAsync(connection, transaction, "DELETE FROM ingest.pending_uploads WHERE payload_id = $1", ct, Uuid(e.PayloadId));
        var inserted = await ExecuteAsync(connection, transaction, InsertRowSql, ct,
            Text(e.ProjectId), Text(e.SessionId), Long(e.Seq), Uuid(e.PayloadId), Text(e.ContentType), Long(e.Length),
            Long(unchecked((long)e.Checksum)), Text(e.Encoding), Int(last.Partition), Long(last.Offset), Time(e.ReceivedAt), Int(count));
        if (inserted == 1)
        {
            return new StoreResult(StoreOutcome.Stored);
        }

        await using var stored = Command(connection, transaction,
            "SELECT payload_id, checksum FROM ingest.payloads WHERE project = $1 AND session_id = $2 AND seq = $3",
            Text(e.ProjectId), Text(e.SessionId), Long(e.Seq));
        Guid storedId;
        long storedChecksum;
        await using (var reader = await stored.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (storedId, storedChecksum) = (reader.GetGuid(0), reader.GetInt64(1));
        }

        if (storedId != e.PayloadId)
        {
            // Another upload of this (session, seq) is stored: this one's chunks are not referenced by any row.
            await ExecuteAsync(connection, transaction, "DELETE FROM ingest.payload_chunks WHERE payload_id = $1", ct, Uuid(e.PayloadId));
        }

        return new StoreResult(Duplicates.Classify(storedId, storedChecksum, e));
    }

    /// <summary>Chunk count, decoded length and XxHash3 of the staged chunks, streamed in order.</summary>
    private static async Task<(int Count, long Length, ulong Checksum)> HashStagedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await using var command = Command(connection, transaction,
            "SELECT chunk_index, body FROM ingest.payload_chunks WHERE payload_id = $1 ORDER BY chunk_index", Uuid(payloadId));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        var hash = new XxHash3();
        var count = 0;
        long length = 0;
        while (await reader.ReadAsync(ct))
        {
            if (reader.GetInt32(0) != count)
            {
                return (count, length, 0); // a hole in the staged chunks
            }

            var body = await reader.GetFieldValueAsync<byte[]>(1, ct);
            var decoded = ArrayPool<byte>.Shared.Rent(PayloadCodec.GetDecodedLength(body));
            try
            {
                var n = PayloadCodec.Decode(body, decoded);
                hash.Append(decoded.AsSpan(0, n));
                length += n;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(decoded);
            }

            count++;
        }

        return (count, length, hash.GetCurrentHashAsUInt64());
    }

    private static async Task<(int Next, long Length, bool DeadLettered, long? LetterOffset, string? LetterError, bool Aborted)?> ReadPendingAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await using var command = Command(connection, transaction, PendingSql, Uuid(payloadId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? (reader.GetInt32(0), reader.GetInt64(1), reader.GetBoolean(2),
               reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5))
            : null;
    }

    private static async Task<bool> ChunkExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, int index, CancellationToken ct)
    {
        await using var command = Command(connection, transaction,
            "SELECT 1 FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index = $2", Uuid(payloadId), Int(index));
        return await command.ExecuteScalarAsync(ct) is not null;
    }

    private static async Task<string> ChunkOffsetsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await using var command = Command(connection, transaction,
            "SELECT coalesce(string_agg(kafka_offset::text, ',' ORDER BY chunk_index), '') FROM ingest.payload_chunks WHERE payload_id = $1",
            Uuid(payloadId));
        return (string)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Keeps the staged chunks from the abandonment sweep until a redrive, makes later chunks of the upload
    /// redeliveries, and remembers which message (<paramref name="chunk"/>) is dead-lettered and why.
    /// </summary>
    private static Task<int> MarkDeadLetteredAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, int next, long length, string error, CancellationToken ct) =>
        ExecuteAsync(connection, transaction,
            """
            INSERT INTO ingest.pending_uploads (payload_id, topic, kafka_partition, next_chunk, length, last_log_time, dead_lettered,
                                                dead_letter_offset, dead_letter_error)
            VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8)
            ON CONFLICT (payload_id) DO UPDATE SET dead_lettered = true, last_log_time = $6, dead_letter_offset = $7, dead_letter_error = $8
            """,
            ct, Uuid(chunk.Envelope.PayloadId), Text(chunk.Topic), Int(chunk.Partition), Int(next), Long(length), Time(chunk.LogTime),
            Long(chunk.Offset), Text(error));

    private static async Task DiscardAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        await ExecuteAsync(connection, transaction, "DELETE FROM ingest.pending_uploads WHERE payload_id = $1", ct, Uuid(payloadId));
        await ExecuteAsync(connection, transaction, "DELETE FROM ingest.payload_chunks WHERE payload_id = $1", ct, Uuid(payloadId));
    }

    private static async Task<int> ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Uuid(Guid value) => new NpgsqlParameter<Guid> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Uuid };

    private static NpgsqlParameter Text(string value) => new NpgsqlParameter<string> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Int(int value) => new NpgsqlParameter<int> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Integer };

    private static NpgsqlParameter Long(long value) => new NpgsqlParameter<long> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bigint };

    private static NpgsqlParameter Bytes(byte[] value) => new NpgsqlParameter<byte[]> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Bytea };

    private static NpgsqlParameter Time(DateTimeOffset value) =>
        new NpgsqlParameter<DateTimeOffset> { TypedValue = value, NpgsqlDbType = NpgsqlDbType.TimestampTz };
}
