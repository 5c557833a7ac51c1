using System.Diagnostics;
using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Npgsql;
using NpgsqlTypes;

namespace Ingest.Benchmarks;

/// <summary>
/// The block every pre-filled row stores: 1,000 bytes of recording-like JSON as one real <see cref="PayloadCodec"/> block (990 B:
/// LZ4 finds little to repeat in so short a text).
/// </summary>
public sealed record ExpiryBlock(byte[] Body, long Length, long Checksum)
{
    public static async Task<ExpiryBlock> CreateAsync(CancellationToken cancellationToken)
    {
        var content = await BenchMessages.ContentAsync(1_000, 17, cancellationToken);
        return new ExpiryBlock(PayloadCodec.Encode(content), content.Length, unchecked((long)XxHash3.HashToUInt64(content)));
    }
}

/// <summary>
/// Sizes in bytes, each with TOAST and indexes: <c>ingest.payloads</c> (its attached partitions), the named partitions (attached
/// or detached, until dropped), the database.
/// </summary>
public sealed record TableSizes(long Payloads, long Partitions, long Database);

/// <summary>
/// The stored rows the expiry scenario removes: <paramref name="rows"/> payloads of project <see cref="Project"/> over
/// <paramref name="sessions"/> sessions, all storing one <see cref="ExpiryBlock"/>, written straight in SQL (INSERT … SELECT
/// FROM generate_series, <see cref="Slice"/> rows a statement) with their <c>ingest.sessions</c> rows. Row i expires at
/// T − 1 s + ⌊i · 10⁶ / rows⌋ µs — every row in the second before T (in whole microseconds, as timestamptz stores them: a
/// fraction rounded up to T would put the last row in the next partition), the sessions interleaved as if received
/// together — and was received <paramref name="retention"/> (the project's) before that.
/// </summary>
public sealed class ExpiryFill(NpgsqlDataSource source, ExpiryBlock block, long rows, long sessions, TimeSpan retention)
{
    public const string Project = "expiring";

    /// <summary>Rows one INSERT writes.</summary>
    public const int Slice = 100_000;

    /// <summary>The advisory lock under which Ingest.Storage's <c>Partitions</c> creates partitions ("ingestpt").</summary>
    private const long PartitionLockKey = 0x696E6765737470;

    private const string Insert = """
        INSERT INTO {0} (project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body,
                         chunk_count, kafka_partition, kafka_offset, received_at, stored_at, expires_at)
        SELECT 'expiring', 'exp-' || lpad((i % $2)::text, 6, '0'), i / $2, i / $2 + 1, gen_random_uuid(), 'application/json',
               $5, $6, $7, $8, 1, (i % 12)::int, i / 12, e - $9, e - $9 + interval '20 milliseconds', e
        FROM generate_series($3, $4 - 1) AS i
        CROSS JOIN LATERAL (SELECT $1 - interval '1 second' + (i * 1000000 / $10) * interval '1 microsecond' AS e) AS x
        """;

    /// <summary>
    /// Seconds per row of the fill and its vacuum on this machine now: <paramref name="sample"/> rows written the same way
    /// into a scratch copy of <c>ingest.payloads</c> (same columns, storage and indexes), vacuumed, then dropped.
    /// </summary>
    public async Task<double> CalibrateAsync(long sample, CancellationToken cancellationToken)
    {
        await ExecuteAsync("CREATE TABLE ingest.expiry_calibration (LIKE ingest.payloads INCLUDING ALL)", cancellationToken);
        try
        {
            var clock = Stopwatch.StartNew();
            await InsertAsync("ingest.expiry_calibration", DateTimeOffset.UtcNow.AddHours(1), 0, sample, cancellationToken);
            await ExecuteAsync("VACUUM (ANALYZE) ingest.expiry_calibration", cancellationToken);
            return clock.Elapsed.TotalSeconds / sample;
        }
        finally
        {
            await ExecuteAsync("DROP TABLE ingest.expiry_calibration", CancellationToken.None);
        }
    }

    /// <summary>Creates the partitions up to <paramref name="until"/> (as the worker does, under its lock: a no-op where it already has).</summary>
    public async Task EnsurePartitionsAsync(DateTimeOffset until, TimeSpan step, CancellationToken cancellationToken)
    {
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { new() { Value = PartitionLockKey } } });
        foreach (var parent in new[] { "payloads", "payload_chunks" })
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT ingest.ensure_partitions($1, $2, $3)")
            {
                Parameters = { new() { Value = parent }, new() { Value = until }, new() { Value = step } },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Writes the rows and their sessions, expiring in the second before <paramref name="t"/>; returns how long it took.</summary>
    public async Task<TimeSpan> FillAsync(DateTimeOffset t, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        for (var from = 0L; from < rows; from += Slice)
        {
            await InsertAsync("ingest.payloads", t, from, Math.Min(rows, from + Slice), cancellationToken);
        }

        // Session s holds rows s, s + S, s + 2S, …: k = ⌊(N − 1 − s) / S⌋ + 1 of them, expiring from row s's expiry to its last's.
        await using var command = source.CreateCommand(
            """
            INSERT INTO ingest.sessions (project, session_id, next_position, first_received_at, last_received_at,
                                         min_expires_at, max_expires_at, keep_until)
            SELECT 'expiring', 'exp-' || lpad(s::text, 6, '0'), k, e0 - $4, e1 - $4, e0, e1, e1
            FROM generate_series(0, least($3, $2) - 1) AS s
            CROSS JOIN LATERAL (SELECT ($2 - 1 - s) / $3 + 1 AS k) AS c
            CROSS JOIN LATERAL (SELECT $1 - interval '1 second' + (s * 1000000 / $2) * interval '1 microsecond' AS e0,
                                       $1 - interval '1 second' + ((s + (k - 1) * $3) * 1000000 / $2) * interval '1 microsecond' AS e1) AS x
            """);
        command.Parameters.Add(new() { Value = t });
        command.Parameters.Add(new() { Value = rows });
        command.Parameters.Add(new() { Value = sessions });
        command.Parameters.Add(new() { Value = retention });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return clock.Elapsed;
    }

    /// <summary>
    /// The partitions holding the rows, vacuumed and analysed, then a checkpoint: the state of rows stored long ago (autovacuum
    /// has set their hint bits and visibility map, their pages are on disk), so neither the baseline nor the expiry pays for
    /// the fill's write-back. Returns how long it took.
    /// </summary>
    public async Task<TimeSpan> SettleAsync(IReadOnlyList<string> partitions, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        foreach (var partition in partitions)
        {
            await ExecuteAsync($"VACUUM (ANALYZE) ingest.\"{partition}\"", cancellationToken);
        }

        await ExecuteAsync("ANALYZE ingest.sessions", cancellationToken);
        await ExecuteAsync("CHECKPOINT", cancellationToken);
        return clock.Elapsed;
    }

    /// <summary>The partitions of <c>ingest.payloads</c> whose range meets [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public async Task<List<string>> PartitionsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand(
            "SELECT name FROM ingest.partitions WHERE parent = 'payloads' AND upper > $1 AND lower < $2 ORDER BY lower");
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>Sizes of <c>ingest.payloads</c>, of <paramref name="partitions"/> (while they exist), and of the database.</summary>
    public async Task<TableSizes> SizesAsync(IReadOnlyList<string> partitions, CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand(
            """
            SELECT (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint
                    FROM pg_inherits i WHERE i.inhparent = 'ingest.payloads'::regclass),
                   (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ingest' AND c.relname = ANY($1)),
                   pg_database_size(current_database())
            """);
        command.Parameters.Add(new() { Value = partitions.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new TableSizes(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>
    /// Whether any row of <see cref="Project"/> is left, and how many of <paramref name="partitions"/> still exist. Through the
    /// <c>(project, received_at)</c> index: a sequential scan would read through every row already deleted, each poll.
    /// </summary>
    public async Task<(bool RowsLeft, long PartitionsLeft)> RemainingAsync(IReadOnlyList<string> partitions, CancellationToken cancellationToken)
    {
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var noSeqScan = new NpgsqlCommand("SET LOCAL enable_seqscan = off", connection, transaction))
        {
            await noSeqScan.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand(
            """
            SELECT (SELECT received_at FROM ingest.payloads WHERE project = 'expiring' ORDER BY received_at LIMIT 1) IS NOT NULL,
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'ingest' AND c.relname = ANY($1))
            """, connection, transaction);
        command.Parameters.Add(new() { Value = partitions.ToArray() });
        (bool, long) remaining;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            remaining = (reader.GetBoolean(0), reader.GetInt64(1));
        }

        await transaction.CommitAsync(cancellationToken);
        return remaining;
    }

    private async Task InsertAsync(string table, DateTimeOffset t, long from, long to, CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, table));
        command.CommandTimeout = 0;
        command.Parameters.Add(new() { Value = t });
        command.Parameters.Add(new() { Value = sessions });
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        command.Parameters.Add(new() { Value = block.Length });
        command.Parameters.Add(new() { Value = block.Checksum });
        command.Parameters.Add(new() { Value = PayloadCodec.Name });
        command.Parameters.Add(new() { Value = block.Body, NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = retention });
        command.Parameters.Add(new() { Value = rows });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand(sql);
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
