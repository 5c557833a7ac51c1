using Npgsql;
using NpgsqlTypes;

namespace Ingest.Storage.Payloads;

/// <summary>
/// The one way rows reach <c>ingest.payloads</c>: a binary COPY into a temporary staging table, then one
/// <c>INSERT … SELECT … ORDER BY position ON CONFLICT DO NOTHING RETURNING</c>. The COPY keeps the bulk speed of writing
/// the table directly (binary rows, one round trip) and the INSERT the semantics: rows go in in the order given (so
/// <c>position</c> is the applied order), the first row stored under a (project, session, seq) wins — a later one, in
/// the same call or an earlier batch, is a duplicate, told apart by what is stored — and a row the table refuses (a
/// data error, SQLSTATE class 22/23) fails the call for the caller to isolate. Every column is named once, here.
/// One instance per transaction; the staging table holds rows only within it.
/// </summary>
internal sealed class PayloadRows(NpgsqlConnection connection, NpgsqlTransaction transaction)
{
    /// <summary>The columns written, in the order <see cref="WriteRowAsync"/> writes them.</summary>
    private const string ColumnList =
        "project, session_id, seq, payload_id, content_type, length, checksum, encoding, body, kafka_partition, kafka_offset, received_at, chunk_count";

    /// <summary>
    /// Shaped like <c>ingest.payloads</c> itself (its body <c>STORAGE EXTERNAL</c>: pglz is not let to try LZ4 bytes),
    /// with <c>position</c> carrying the order rows are given in. Emptied at every commit; a connection keeps it until
    /// it is reset (Npgsql resets a pooled connection unless <c>No Reset On Close</c>), so it is created when missing.
    /// </summary>
    private const string CreateStagingSql =
        "CREATE TEMP TABLE IF NOT EXISTS payload_rows (LIKE ingest.payloads INCLUDING DEFAULTS INCLUDING STORAGE) ON COMMIT DELETE ROWS";

    private const string CopySql = $"COPY payload_rows (position, {ColumnList}) FROM STDIN (FORMAT BINARY)";

    /// <summary>Empties the staging table as it inserts, so the next call of the transaction starts from nothing.</summary>
    private const string InsertSql =
        $"""
        WITH staged AS (DELETE FROM payload_rows RETURNING *)
        INSERT INTO ingest.payloads ({ColumnList})
        SELECT {ColumnList} FROM staged ORDER BY position
        ON CONFLICT (project, session_id, seq) DO NOTHING
        RETURNING kafka_partition, kafka_offset
        """;

    private const string StoredSql =
        """
        SELECT p.project, p.session_id, p.seq, p.payload_id, p.checksum
        FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(project, session_id, seq)
        JOIN ingest.payloads p ON p.project = k.project AND p.session_id = k.session_id AND p.seq = k.seq
        """;

    private bool _staging;

    /// <summary>Inserts <paramref name="rows"/> in order; one result per row: stored, or the kind of duplicate it is.</summary>
    /// <exception cref="PostgresException">A data error (class 22/23): some row is refused; the transaction is spoiled.</exception>
    public async Task<StoreResult[]> InsertAsync(IReadOnlyList<PayloadRow> rows, CancellationToken ct)
    {
        var results = new StoreResult[rows.Count];
        if (rows.Count == 0)
        {
            return results;
        }

        if (!_staging)
        {
            await using var create = new NpgsqlCommand(CreateStagingSql, connection, transaction);
            await create.ExecuteNonQueryAsync(ct);
            _staging = true;
        }

        await using (var writer = await connection.BeginBinaryImportAsync(CopySql, ct))
        {
            for (var i = 0; i < rows.Count; i++)
            {
                await WriteRowAsync(writer, i, rows[i], ct);
            }

            await writer.CompleteAsync(ct);
        }

        // Rows are told apart by the message they came from: the first of equal keys is the one inserted.
        var inserted = new HashSet<(int, long)>();
        await using (var insert = new NpgsqlCommand(InsertSql, connection, transaction))
        await using (var reader = await insert.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                inserted.Add((reader.GetInt32(0), reader.GetInt64(1)));
            }
        }

        var conflicts = new List<int>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (inserted.Remove((rows[i].Partition, rows[i].Offset)))
            {
                results[i] = new StoreResult(StoreOutcome.Stored);
            }
            else
            {
                conflicts.Add(i);
            }
        }

        if (conflicts.Count > 0)
        {
            var stored = await ReadStoredAsync(conflicts.Select(i => rows[i]), ct);
            foreach (var i in conflicts)
            {
                var e = rows[i].Envelope;
                var (payloadId, checksum) = stored[(e.ProjectId, e.SessionId, e.Seq)];
                results[i] = new StoreResult(Duplicates.Classify(payloadId, checksum, e));
            }
        }

        return results;
    }

    private static async Task WriteRowAsync(NpgsqlBinaryImporter writer, int ord, PayloadRow row, CancellationToken ct)
    {
        var e = row.Envelope;
        await writer.StartRowAsync(ct);
        await writer.WriteAsync((long)ord, NpgsqlDbType.Bigint, ct); // position: the order given
        await writer.WriteAsync(e.ProjectId, NpgsqlDbType.Text, ct);
        await writer.WriteAsync(e.SessionId, NpgsqlDbType.Text, ct);
        await writer.WriteAsync(e.Seq, NpgsqlDbType.Bigint, ct);
        await writer.WriteAsync(e.PayloadId, NpgsqlDbType.Uuid, ct);
        await writer.WriteAsync(e.ContentType, NpgsqlDbType.Text, ct);
        await writer.WriteAsync(e.Length, NpgsqlDbType.Bigint, ct);
        await writer.WriteAsync(unchecked((long)e.Checksum), NpgsqlDbType.Bigint, ct); // XxHash3-64 is unsigned; bigint keeps its bits
        await writer.WriteAsync(e.Encoding, NpgsqlDbType.Text, ct);
        if (row.Body is { } body)
        {
            await writer.WriteAsync(body, NpgsqlDbType.Bytea, ct);
        }
        else
        {
            await writer.WriteNullAsync(ct);
        }

        await writer.WriteAsync(row.Partition, NpgsqlDbType.Integer, ct);
        await writer.WriteAsync(row.Offset, NpgsqlDbType.Bigint, ct);
        await writer.WriteAsync(e.ReceivedAt, NpgsqlDbType.TimestampTz, ct);
        await writer.WriteAsync(row.ChunkCount, NpgsqlDbType.Integer, ct);
    }

    private async Task<Dictionary<(string, string, long), (Guid, long)>> ReadStoredAsync(IEnumerable<PayloadRow> rows, CancellationToken ct)
    {
        var keys = rows.Select(r => r.Envelope).ToList();
        await using var command = new NpgsqlCommand(StoredSql, connection, transaction)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]> { TypedValue = [.. keys.Select(k => k.ProjectId)] },
                new NpgsqlParameter<string[]> { TypedValue = [.. keys.Select(k => k.SessionId)] },
                new NpgsqlParameter<long[]> { TypedValue = [.. keys.Select(k => k.Seq)] },
            },
        };
        var stored = new Dictionary<(string, string, long), (Guid, long)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            stored[(reader.GetString(0), reader.GetString(1), reader.GetInt64(2))] = (reader.GetGuid(3), reader.GetInt64(4));
        }

        return stored;
    }
}
