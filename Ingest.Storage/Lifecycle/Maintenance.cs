using Microsoft.Extensions.Options;
using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Lifecycle;

/// <summary>What one maintenance pass did and saw.</summary>
/// <param name="Ran">False when another worker held the maintenance lock (it does the pass).</param>
/// <param name="PartitionsCreated">Partitions created ahead.</param>
/// <param name="PartitionsDropped">Wholly expired partitions dropped (their space returned).</param>
/// <param name="Expired">Payloads removed as past their project's retention.</param>
/// <param name="Erased">Payloads removed as of an erased session or project.</param>
/// <param name="PendingUploadsRemoved">Unfinished uploads removed (expired, or of an erased session or project).</param>
/// <param name="OldestReceived">Per project, the receipt time of its oldest stored payload.</param>
public sealed record MaintenanceReport(
    bool Ran, int PartitionsCreated, int PartitionsDropped, Removed Expired, Removed Erased, long PendingUploadsRemoved,
    IReadOnlyDictionary<string, DateTimeOffset> OldestReceived);

/// <summary>
/// One pass of the data lifecycle, run by one worker at a time (a session-level advisory lock): partitions created ahead,
/// payloads past their project's retention removed (by the <c>(project, received_at)</c> index, a slice at a time), wholly
/// expired partitions detached and dropped, erased sessions and projects purged (rows, chunks, pending uploads), tombstones
/// past their time forgotten.
/// </summary>
public sealed class Maintenance(
    NpgsqlDataSource dataSource, Partitions partitions, RetentionPolicy retention, IOptions<LifecycleOptions> options, TimeProvider timeProvider)
{
    /// <summary>Advisory lock key of the pass ("ingestlc").</summary>
    private const long LockKey = 0x696E676573746C63;

    public async Task<MaintenanceReport> RunOnceAsync(CancellationToken ct)
    {
        await using var lockConnection = await dataSource.OpenConnectionAsync(ct);
        await using (var command = Command(lockConnection, null, "SELECT pg_try_advisory_lock($1)", Long(LockKey)))
        {
            if (!(bool)(await command.ExecuteScalarAsync(ct))!)
            {
                return new MaintenanceReport(false, 0, 0, new Removed(), new Removed(), 0, new Dictionary<string, DateTimeOffset>());
            }
        }

        try
        {
            return await PassAsync(ct);
        }
        finally
        {
            await ExecuteAsync(lockConnection, null, "SELECT pg_advisory_unlock($1)", CancellationToken.None, Long(LockKey));
        }
    }

    private async Task<MaintenanceReport> PassAsync(CancellationToken ct)
    {
        var created = await partitions.EnsureCoveredAsync(partitions.Horizon, ct);
        var projects = await ProjectsAsync(ct);

        var erased = new Removed();
        var pending = await PurgeErasedAsync(erased, ct);

        // Wholly expired partitions first: dropping one costs nothing per row, and the sweep must not delete row by row
        // what a drop removes at once (a burst of expiries at a partition's end).
        var expired = new Removed();
        var dropped = 0;
        foreach (var partition in await partitions.ExpiredAsync(timeProvider.GetUtcNow(), ct))
        {
            await partitions.DropAsync(partition, expired, ct);
            dropped++;
        }

        foreach (var project in options.Value.SweepExpiredRows ? projects : [])
        {
            var keep = retention.For(project);
            await Removal.AllPayloadsAsync(dataSource, project, "p.received_at < now() - $2::interval",
                () => Interval(keep), expired, ct);
        }

        pending += await Removal.PendingUploadsAsync(dataSource, "u.expires_at <= now()", ct);

        // A session's row goes once every partition that could hold its rows is gone (its range ends before the oldest left).
        await RunAsync(dataSource,
            """
            DELETE FROM ingest.sessions
            WHERE keep_until <= now() AND (erased_at IS NULL OR purged_at IS NOT NULL)
              AND keep_until < (SELECT coalesce(min(lower), 'infinity') FROM ingest.partitions WHERE parent = 'payloads')
            """, ct);
        await RunAsync(dataSource, "DELETE FROM ingest.erased_projects WHERE keep_until <= now() AND purged_at IS NOT NULL", ct);
        return new MaintenanceReport(true, created, dropped, expired, erased, pending, await OldestAsync(projects, ct));
    }

    /// <summary>Removes what is stored of erased sessions (once each) and of erased projects (every pass until they are forgotten).</summary>
    private async Task<long> PurgeErasedAsync(Removed erased, CancellationToken ct)
    {
        var pending = 0L;
        await using (var command = Command(dataSource,
            "SELECT project, session_id FROM ingest.sessions WHERE erased_at IS NOT NULL AND purged_at IS NULL"))
        {
            foreach (var (project, session) in await ReadPairsAsync(command, ct))
            {
                await Removal.AllPayloadsAsync(dataSource, project, "p.session_id = $2", () => Text(session), erased, ct);
                pending += await Removal.PendingUploadsAsync(dataSource, "u.project = $1 AND u.session_id = $2", ct, Text(project), Text(session));
                await RunAsync(dataSource, "UPDATE ingest.sessions SET purged_at = now() WHERE project = $1 AND session_id = $2", ct,
                    Text(project), Text(session));
            }
        }

        await using (var command = Command(dataSource, "SELECT project, '' FROM ingest.erased_projects"))
        {
            foreach (var (project, _) in await ReadPairsAsync(command, ct))
            {
                await Removal.AllPayloadsAsync(dataSource, project, null, null, erased, ct);
                pending += await Removal.PendingUploadsAsync(dataSource, "u.project = $1", ct, Text(project));
                await RunAsync(dataSource, "UPDATE ingest.sessions SET purged_at = now() WHERE project = $1 AND erased_at IS NOT NULL", ct,
                    Text(project));
                await RunAsync(dataSource, "UPDATE ingest.erased_projects SET purged_at = now() WHERE project = $1", ct, Text(project));
            }
        }

        return pending;
    }

    /// <summary>Every project with a session row (a loose index scan of the sessions' primary key).</summary>
    private async Task<List<string>> ProjectsAsync(CancellationToken ct)
    {
        await using var command = Command(dataSource, $"{SessionProjects.Cte} SELECT project FROM p WHERE project IS NOT NULL");
        var projects = await ReadColumnAsync<string>(command, ct);
        return [.. projects.Union(retention.Configured.Keys, StringComparer.Ordinal)];
    }

    private async Task<Dictionary<string, DateTimeOffset>> OldestAsync(List<string> projects, CancellationToken ct)
    {
        var oldest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var project in projects)
        {
            await using var command = Command(dataSource, "SELECT min(received_at) FROM ingest.payloads WHERE project = $1", Text(project));
            if (await command.ExecuteScalarAsync(ct) is DateTime time)
            {
                oldest[project] = new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc));
            }
        }

        return oldest;
    }

    private static async Task<List<(string, string)>> ReadPairsAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var pairs = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            pairs.Add((reader.GetString(0), reader.GetString(1)));
        }

        return pairs;
    }

    private static async Task RunAsync(NpgsqlDataSource dataSource, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(dataSource, sql, parameters);
        await command.ExecuteNonQueryAsync(ct);
    }
}
