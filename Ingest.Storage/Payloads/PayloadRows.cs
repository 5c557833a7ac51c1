using Npgsql;
using NpgsqlTypes;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Payloads;

/// <summary>
/// The one way rows reach <c>ingest.payloads</c>, all rows of a call in one <see cref="NpgsqlBatch"/> (one round trip), so
/// that <c>position</c> (taken from the session's row, <see cref="BatchSessions"/>) is the applied order and the first row
/// stored under a (project, session, seq) wins — a later one, in the same call or an earlier batch, inserts nothing and is
/// told apart by what is stored. The table is partitioned by expiry, so the key's uniqueness is the writer's: a row whose
/// seq the session has never had (above its <c>max_seq</c> and the seqs written before in the transaction) cannot have an
/// earlier copy, and all such rows go in first: by binary <c>COPY</c> when there are at least
/// <see cref="CopyThreshold"/> of them (no plan, no per-row conflict check: Postgres spends less than half the CPU per row
/// of the set-based insert), else in one <c>INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING</c>. A unique violation
/// from the COPY means the rule was broken (a session row recreated under rows that outlived it): it throws
/// <see cref="UnseenRowConflictException"/> and the caller writes the transaction again with
/// <paramref name="copyUnseen"/> off, which absorbs the conflict as a duplicate. Each other row (a redelivery, a client's retry, a seq out of order) is inserted after them, in order, by an
/// <c>INSERT … WHERE NOT EXISTS … ON CONFLICT DO NOTHING</c> that looks in the session's expiry range, under the session
/// row's lock. A row the table refuses (a data error, SQLSTATE class 22/23) fails the call for the caller to isolate.
/// Every column is named once, here.
/// </summary>
/// <remarks>
/// Measured (tests/bench.sh --only worker): one checked statement per row cost a plan per row and, before the partition's
/// statistics knew the project, a scan of all the project's rows in it per row — 10 KB payloads at a quarter of raw
/// binary COPY's rate; see README, "Storage".
/// </remarks>
internal sealed class PayloadRows(NpgsqlConnection connection, NpgsqlTransaction transaction, BatchSessions sessions, bool copyUnseen = true)
{
    /// <summary>The fewest unseen rows worth their own COPY round trip; fewer go in the same batch as the checked rows.</summary>
    public const int CopyThreshold = 8;

    private const string Columns =
        "project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body, kafka_partition, kafka_offset, received_at, chunk_count, expires_at";

    private const string InsertUnseenSql =
        $"""
        INSERT INTO ingest.payloads ({Columns})
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::uuid[], $6::text[], $7::bigint[], $8::bigint[],
                             $9::text[], $10::bytea[], $11::integer[], $12::bigint[], $13::timestamptz[], $14::integer[], $15::timestamptz[])
        ON CONFLICT (project, session_id, seq, expires_at) DO NOTHING
        RETURNING project, session_id, seq
        """;

    private const string CopySql = $"COPY ingest.payloads ({Columns}) FROM STDIN (FORMAT BINARY)";

    private const string InsertCheckedSql =
        $"""
        INSERT INTO ingest.payloads ({Columns})
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
        WHERE NOT EXISTS (SELECT 1 FROM ingest.payloads
                          WHERE project = $1 AND session_id = $2 AND seq = $3 AND expires_at BETWEEN $16 AND $17)
        ON CONFLICT (project, session_id, seq, expires_at) DO NOTHING
        """;

    private const string StoredSql =
        """
        SELECT p.project, p.session_id, p.seq, p.payload_id, p.checksum
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) AS k(project, session_id, seq, low, high)
        JOIN ingest.payloads p ON p.project = k.project AND p.session_id = k.session_id AND p.seq = k.seq
                              AND p.expires_at BETWEEN k.low AND k.high
        """;

    /// <summary>Inserts <paramref name="rows"/> in order; one result per row: stored, or the kind of duplicate it is.</summary>
    /// <exception cref="PostgresException">A data error (class 22/23): some row is refused; the transaction is spoiled.</exception>
    public async Task<StoreResult[]> InsertAsync(IReadOnlyList<PayloadRow> rows, CancellationToken ct)
    {
        var results = new StoreResult[rows.Count];
        if (rows.Count == 0)
        {
            return results;
        }

        var positions = new long[rows.Count];
        var unseen = new List<int>();
        var checkedRows = new List<int>();
        for (var i = 0; i < rows.Count; i++)
        {
            positions[i] = sessions.TakePosition(rows[i].Envelope);
            (sessions.TakeUnseenSeq(rows[i].Envelope) ? unseen : checkedRows).Add(i);
        }

        var inserted = new HashSet<(string, string, long)>();
        if (copyUnseen && unseen.Count >= CopyThreshold)
        {
            await CopyUnseenAsync(rows, positions, unseen, ct);
            foreach (var i in unseen)
            {
                results[i] = new StoreResult(StoreOutcome.Stored);
            }

            unseen.Clear();
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        if (unseen.Count > 0)
        {
            batch.BatchCommands.Add(InsertUnseen(rows, positions, unseen));
        }

        // After the unseen rows: a later copy of one of them (same call) finds it.
        foreach (var i in checkedRows)
        {
            batch.BatchCommands.Add(InsertChecked(rows[i], positions[i], sessions.ExpiryRange(rows[i].Envelope)));
        }

        await using (var reader = batch.BatchCommands.Count == 0 ? null : await batch.ExecuteReaderAsync(ct))
        {
            if (reader is not null)
            {
                if (unseen.Count > 0)
                {
                    while (await reader.ReadAsync(ct))
                    {
                        inserted.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                    }
                }

                while (await reader.NextResultAsync(ct))
                {
                }
            }
        }

        var conflicts = new List<int>();
        foreach (var i in unseen)
        {
            var e = rows[i].Envelope;
            if (inserted.Contains((e.ProjectId, e.SessionId, e.Seq)))
            {
                results[i] = new StoreResult(StoreOutcome.Stored);
            }
            else
            {
                conflicts.Add(i); // the same row, written before max_seq was kept (an upgrade): absorbed
            }
        }

        var first = unseen.Count > 0 ? 1 : 0;
        for (var j = 0; j < checkedRows.Count; j++)
        {
            if (batch.BatchCommands[first + j].RecordsAffected == 1)
            {
                results[checkedRows[j]] = new StoreResult(StoreOutcome.Stored);
            }
            else
            {
                conflicts.Add(checkedRows[j]);
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

    private async Task CopyUnseenAsync(IReadOnlyList<PayloadRow> rows, long[] positions, List<int> unseen, CancellationToken ct)
    {
        try
        {
            await using var writer = await connection.BeginBinaryImportAsync(CopySql, ct);
            foreach (var i in unseen)
            {
                var (row, e) = (rows[i], rows[i].Envelope);
                await writer.StartRowAsync(ct);
                await writer.WriteAsync(e.ProjectId, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(e.SessionId, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(e.Seq, NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync(positions[i], NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync(e.PayloadId, NpgsqlDbType.Uuid, ct);
                await writer.WriteAsync(e.ContentType, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(e.Length, NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync(unchecked((long)e.Checksum), NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync(e.Encoding, NpgsqlDbType.Text, ct);
                if (row.Body is { } body)
                {
                    await writer.WriteAsync(body, NpgsqlDbType.Bytea, ct);
                }
                else
                {
                    await writer.WriteNullAsync(ct); // a chunked payload's row: its body is in its chunks
                }

                await writer.WriteAsync(row.Partition, NpgsqlDbType.Integer, ct);
                await writer.WriteAsync(row.Offset, NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync(e.ReceivedAt, NpgsqlDbType.TimestampTz, ct);
                await writer.WriteAsync(row.ChunkCount, NpgsqlDbType.Integer, ct);
                await writer.WriteAsync(row.ExpiresAt, NpgsqlDbType.TimestampTz, ct);
            }

            await writer.CompleteAsync(ct);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new UnseenRowConflictException(ex);
        }
    }

    private static NpgsqlBatchCommand InsertUnseen(IReadOnlyList<PayloadRow> rows, long[] positions, List<int> unseen)
    {
        var n = unseen.Count;
        var (projects, sessionIds, contentTypes, encodings) = (new string[n], new string[n], new string[n], new string[n]);
        var (seqs, ordered, lengths, checksums, offsets) = (new long[n], new long[n], new long[n], new long[n], new long[n]);
        var (ids, bodies, partitions, chunkCounts) = (new Guid[n], new byte[]?[n], new int[n], new int[n]);
        var (received, expires) = (new DateTimeOffset[n], new DateTimeOffset[n]);
        for (var j = 0; j < n; j++)
        {
            var row = rows[unseen[j]];
            var e = row.Envelope;
            (projects[j], sessionIds[j], seqs[j], ordered[j], ids[j]) = (e.ProjectId, e.SessionId, e.Seq, positions[unseen[j]], e.PayloadId);
            (contentTypes[j], lengths[j], checksums[j], encodings[j]) = (e.ContentType, e.Length, unchecked((long)e.Checksum), e.Encoding);
            (bodies[j], partitions[j], offsets[j], received[j], chunkCounts[j], expires[j]) =
                (row.Body, row.Partition, row.Offset, e.ReceivedAt, row.ChunkCount, row.ExpiresAt);
        }

        return new NpgsqlBatchCommand(InsertUnseenSql)
        {
            Parameters =
            {
                Array(projects, NpgsqlDbType.Text), Array(sessionIds, NpgsqlDbType.Text), Array(seqs, NpgsqlDbType.Bigint),
                Array(ordered, NpgsqlDbType.Bigint), Array(ids, NpgsqlDbType.Uuid), Array(contentTypes, NpgsqlDbType.Text),
                Array(lengths, NpgsqlDbType.Bigint), Array(checksums, NpgsqlDbType.Bigint), Array(encodings, NpgsqlDbType.Text),
                Array(bodies, NpgsqlDbType.Bytea), Array(partitions, NpgsqlDbType.Integer), Array(offsets, NpgsqlDbType.Bigint),
                Array(received, NpgsqlDbType.TimestampTz), Array(chunkCounts, NpgsqlDbType.Integer), Array(expires, NpgsqlDbType.TimestampTz),
            },
        };
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType type) =>
        new NpgsqlParameter<T[]> { TypedValue = values, NpgsqlDbType = NpgsqlDbType.Array | type };

    private static NpgsqlBatchCommand InsertChecked(PayloadRow row, long position, (DateTimeOffset Min, DateTimeOffset Max) range)
    {
        var e = row.Envelope;
        return new NpgsqlBatchCommand(InsertCheckedSql)
        {
            Parameters =
            {
                Text(e.ProjectId), Text(e.SessionId), Long(e.Seq), Long(position), Uuid(e.PayloadId), Text(e.ContentType), Long(e.Length),
                Long(unchecked((long)e.Checksum)), // XxHash3-64 is unsigned; bigint keeps its bits
                Text(e.Encoding),
                new NpgsqlParameter<byte[]?> { TypedValue = row.Body, NpgsqlDbType = NpgsqlDbType.Bytea }, // null for a chunked payload
                Int(row.Partition), Long(row.Offset), Time(e.ReceivedAt), Int(row.ChunkCount), Time(row.ExpiresAt),
                Time(range.Min), Time(range.Max),
            },
        };
    }

    private async Task<Dictionary<(string, string, long), (Guid, long)>> ReadStoredAsync(IEnumerable<PayloadRow> rows, CancellationToken ct)
    {
        var keys = rows.Select(r => (r.Envelope, Range: sessions.ExpiryRange(r.Envelope))).ToList();
        await using var command = new NpgsqlCommand(StoredSql, connection, transaction)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]> { TypedValue = [.. keys.Select(k => k.Envelope.ProjectId)] },
                new NpgsqlParameter<string[]> { TypedValue = [.. keys.Select(k => k.Envelope.SessionId)] },
                new NpgsqlParameter<long[]> { TypedValue = [.. keys.Select(k => k.Envelope.Seq)] },
                new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. keys.Select(k => k.Range.Min)] },
                new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. keys.Select(k => k.Range.Max)] },
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

/// <summary>
/// A row <see cref="PayloadRows"/> took for never seen (above its session's <c>max_seq</c>) was already stored: the
/// transaction is spoiled and must be written again with every row checked. Not a data error: the payload is valid.
/// </summary>
internal sealed class UnseenRowConflictException(PostgresException inner)
    : Exception("A payload row taken for new (above its session's max_seq) was already stored", inner);
