using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Lifecycle;

/// <summary>What erasing a project recorded.</summary>
/// <param name="Project">The project.</param>
/// <param name="ErasedAt">When the project was (first) erased.</param>
/// <param name="KeepUntil">Until then every payload of the project is dropped and whatever of it is stored is removed.</param>
/// <param name="AlreadyErased">True when the project was erased before (this call only extended <paramref name="KeepUntil"/>).</param>
/// <param name="SessionsMarked">Sessions of the project marked erased by this call.</param>
/// <param name="SessionsAlreadyErased">Sessions of the project that were erased before.</param>
public sealed record ProjectErasure(
    string Project, DateTimeOffset ErasedAt, DateTimeOffset KeepUntil, bool AlreadyErased, int SessionsMarked, int SessionsAlreadyErased);

/// <summary>A row of <c>ingest.erased_projects</c>.</summary>
/// <param name="Project">The project.</param>
/// <param name="ErasedAt">When it was erased.</param>
/// <param name="KeepUntil">When the row goes (the workers forget the project once it is purged and this has passed).</param>
/// <param name="PurgedAt">When a maintenance pass last removed what was stored of it; null until the first pass.</param>
public sealed record ErasedProject(string Project, DateTimeOffset ErasedAt, DateTimeOffset KeepUntil, DateTimeOffset? PurgedAt);

/// <summary>
/// Erasure of a whole project (offboarding), as the ops tool records it: a row in <c>ingest.erased_projects</c>, every
/// session of the project marked erased as a session erasure marks it, and <c>NOTIFY ingest_erasures, '&lt;project&gt;/'</c>.
/// From the commit on, the workers' writer drops every payload of the project, and their maintenance removes what is stored
/// of it within <c>Ingest:Lifecycle:CheckInterval</c>.
/// </summary>
public sealed class ProjectErasures(NpgsqlDataSource dataSource)
{
    // erased_at is set once; keep_until only grows, so erasing again is harmless and a longer retention still covers every
    // payload accepted before the erasure.
    private const string RecordSql =
        """
        INSERT INTO ingest.erased_projects AS e (project, erased_at, keep_until)
        VALUES ($1, now(), now() + $2::interval)
        ON CONFLICT (project) DO UPDATE
           SET erased_at = coalesce(e.erased_at, now()), keep_until = greatest(e.keep_until, now() + $2::interval)
        RETURNING erased_at, keep_until, (xmax = 0) AS inserted
        """;

    // The same marking as a session erasure. now() is this transaction's start, so a session whose erased_at is now() was
    // marked here; one erased before has an earlier erased_at. Updating each row also waits for a writer's batch that holds
    // it: the batch is wholly before the erasure (its rows are purged) or sees it.
    private const string MarkSessionsSql =
        """
        WITH marked AS (
            UPDATE ingest.sessions
               SET erased_at = coalesce(erased_at, now()), keep_until = greatest(keep_until, now() + $2::interval)
             WHERE project = $1
            RETURNING erased_at = now() AS fresh)
        SELECT count(*) FILTER (WHERE fresh)::int, count(*) FILTER (WHERE NOT fresh)::int FROM marked
        """;

    /// <summary>
    /// Erases <paramref name="project"/> in one transaction; <paramref name="retention"/> is the project's retention (every
    /// payload accepted before now expires within it, so the erasure is kept as long).
    /// </summary>
    public async Task<ProjectErasure> EraseAsync(string project, TimeSpan retention, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // A writer's batch for a session the project does not have yet checks erased_projects without any row to lock: a
        // SHARE lock on ingest.sessions waits for the batches in flight and holds new ones back until the erasure commits,
        // so every batch is wholly before it (its rows are purged) or sees it. Writes stall for as long as this transaction.
        await ExecuteAsync(connection, transaction, "LOCK TABLE ingest.sessions IN SHARE MODE", ct);
        DateTimeOffset erasedAt, keepUntil;
        bool inserted;
        await using (var command = Command(connection, transaction, RecordSql, Text(project), Interval(retention)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (erasedAt, keepUntil, inserted) = (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetBoolean(2));
        }

        int marked, already;
        await using (var command = Command(connection, transaction, MarkSessionsSql, Text(project), Interval(retention)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (marked, already) = (reader.GetInt32(0), reader.GetInt32(1));
        }

        // Delivered at commit, and only if it commits.
        await ExecuteAsync(connection, transaction, "SELECT pg_notify($1, $2)", ct,
            Text(SessionErasures.Channel), Text(SessionErasures.NotificationFor(project, null)));
        await transaction.CommitAsync(ct);
        return new ProjectErasure(project, erasedAt, keepUntil, !inserted, marked, already);
    }

    /// <summary>Every erased project the store still remembers, by project.</summary>
    public async Task<List<ErasedProject>> ListAsync(CancellationToken ct)
    {
        await using var command = Command(dataSource,
            "SELECT project, erased_at, keep_until, purged_at FROM ingest.erased_projects ORDER BY project");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var projects = new List<ErasedProject>();
        while (await reader.ReadAsync(ct))
        {
            projects.Add(new ErasedProject(
                reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return projects;
    }
}
