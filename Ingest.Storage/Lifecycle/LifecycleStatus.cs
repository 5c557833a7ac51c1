using Npgsql;
using NpgsqlTypes;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Lifecycle;

/// <summary>Retention and erasure as the store shows them, at one instant (the database's clock).</summary>
/// <param name="At">The database's <c>now()</c> when read.</param>
/// <param name="Projects">Every project with a session row, an erasure, or asked for; by project.</param>
/// <param name="Tables">The expiring tables (<c>payloads</c>, <c>payload_chunks</c>) and their partitions.</param>
/// <param name="PendingUploads">Unfinished chunked uploads.</param>
/// <param name="PendingUploadsExpired">Of those, the ones past their expiry (the maintenance pass removes them).</param>
public sealed record LifecycleSnapshot(
    DateTimeOffset At, IReadOnlyList<ProjectLifecycle> Projects, IReadOnlyList<ExpiringTable> Tables, long PendingUploads, long PendingUploadsExpired);

/// <summary>One project's stored data and erasures.</summary>
/// <param name="Project">The project.</param>
/// <param name="OldestReceivedAt">Receipt time of its oldest stored payload; null when none is stored.</param>
/// <param name="OldestAge">How old that payload is at <see cref="LifecycleSnapshot.At"/>.</param>
/// <param name="Sessions">Its rows in <c>ingest.sessions</c> (live sessions and erasure tombstones).</param>
/// <param name="ErasedSessionsUnpurged">Sessions erased whose stored data the maintenance pass has not yet removed.</param>
/// <param name="OldestUnpurgedErasureAt">When the oldest of those was erased.</param>
/// <param name="Erased">The project's erasure, when it was erased as a whole.</param>
public sealed record ProjectLifecycle(
    string Project, DateTimeOffset? OldestReceivedAt, TimeSpan? OldestAge, long Sessions, long ErasedSessionsUnpurged,
    DateTimeOffset? OldestUnpurgedErasureAt, ErasedProject? Erased);

/// <summary>An expiring table's partitions, as <c>ingest.partitions</c> lists them.</summary>
/// <param name="Table">The parent table (in schema <c>ingest</c>).</param>
/// <param name="Partitions">How many partitions it has.</param>
/// <param name="LowestBound">The lowest lower bound of their expiry ranges.</param>
/// <param name="HighestBound">The highest upper bound: rows expiring later have no partition yet.</param>
/// <param name="ExpiredPartitions">Partitions whose whole range has expired (the maintenance pass drops them).</param>
/// <param name="TotalBytes">Their total size on disk (tables, indexes, TOAST).</param>
public sealed record ExpiringTable(
    string Table, int Partitions, DateTimeOffset? LowestBound, DateTimeOffset? HighestBound, int ExpiredPartitions, long TotalBytes);

/// <summary>
/// Reads <see cref="LifecycleSnapshot"/> cheaply, for on-call: no scan of the payloads — the oldest payload of a project is
/// the first entry of <c>payloads_project_received</c> in each partition, the projects come from a loose index scan of the
/// sessions' primary key, the erasures not yet purged from the partial index <c>sessions_unpurged</c>.
/// </summary>
public sealed class LifecycleStatus(NpgsqlDataSource dataSource)
{
    /// <summary>The migration that created the lifecycle tables: a store below it cannot be read or erased by this version.</summary>
    public const int SchemaVersion = 6;

    private const string ProjectsSql =
        $"""
        {SessionProjects.Cte},
        projects AS (
            SELECT project FROM p WHERE project IS NOT NULL
            UNION SELECT project FROM ingest.erased_projects
            UNION SELECT unnest($1::text[]))
        SELECT j.project,
               (SELECT min(x.received_at) FROM ingest.payloads x WHERE x.project = j.project),
               (SELECT count(*) FROM ingest.sessions s WHERE s.project = j.project),
               u.count, u.oldest, e.erased_at, e.keep_until, e.purged_at
        FROM projects j
        CROSS JOIN LATERAL (
            SELECT count(*) AS count, min(s.erased_at) AS oldest FROM ingest.sessions s
            WHERE s.project = j.project AND s.erased_at IS NOT NULL AND s.purged_at IS NULL) u
        LEFT JOIN ingest.erased_projects e ON e.project = j.project
        ORDER BY j.project
        """;

    private const string TablesSql =
        """
        SELECT t.parent, count(p.name)::int, min(p.lower), max(p.upper), (count(p.name) FILTER (WHERE p.upper <= now()))::int,
               coalesce(sum(pg_total_relation_size(to_regclass('ingest.' || quote_ident(p.name)))), 0)::bigint
        FROM unnest($1::text[]) WITH ORDINALITY AS t(parent, n)
        LEFT JOIN ingest.partitions p ON p.parent = t.parent
        GROUP BY t.parent, t.n ORDER BY t.n
        """;

    /// <summary>True when the store has the lifecycle tables (migration <see cref="SchemaVersion"/>).</summary>
    public static async Task<bool> HasSchemaAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            """
            SELECT to_regclass('ingest.sessions') IS NOT NULL AND to_regclass('ingest.erased_projects') IS NOT NULL
               AND to_regclass('ingest.partitions') IS NOT NULL
            """);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Reads the snapshot; <paramref name="alsoProjects"/> are listed even without a session row (those that configure a
    /// retention, say).
    /// </summary>
    public async Task<LifecycleSnapshot> ReadAsync(IEnumerable<string> alsoProjects, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        // One snapshot and one now() for every number.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await ExecuteAsync(connection, transaction, "SET TRANSACTION READ ONLY", ct);

        DateTimeOffset at;
        long pending, pendingExpired;
        await using (var command = Command(connection, transaction,
            "SELECT now(), count(*), count(*) FILTER (WHERE expires_at <= now()) FROM ingest.pending_uploads"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (at, pending, pendingExpired) = (reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetInt64(2));
        }

        var projects = new List<ProjectLifecycle>();
        await using (var command = Command(connection, transaction, ProjectsSql, TextArray(alsoProjects)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var project = reader.GetString(0);
                var oldest = NullableTime(reader, 1);
                projects.Add(new ProjectLifecycle(
                    project, oldest, at - oldest, reader.GetInt64(2), reader.GetInt64(3), NullableTime(reader, 4),
                    reader.IsDBNull(5) ? null : new ErasedProject(project, reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6), NullableTime(reader, 7))));
            }
        }

        var tables = new List<ExpiringTable>();
        await using (var command = Command(connection, transaction, TablesSql, TextArray(Partitions.Parents)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                tables.Add(new ExpiringTable(
                    reader.GetString(0), reader.GetInt32(1), NullableTime(reader, 2), NullableTime(reader, 3), reader.GetInt32(4), reader.GetInt64(5)));
            }
        }

        await transaction.CommitAsync(ct);
        return new LifecycleSnapshot(at, projects, tables, pending, pendingExpired);
    }

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static NpgsqlParameter TextArray(IEnumerable<string> values) =>
        new NpgsqlParameter<string[]> { TypedValue = [.. values], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
