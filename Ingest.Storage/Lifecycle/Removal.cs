using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Lifecycle;

/// <summary>Payloads removed, per project: how many and their decoded bytes.</summary>
public sealed class Removed
{
    private readonly Dictionary<string, (long Payloads, long Bytes)> _projects = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, (long Payloads, long Bytes)> Projects => _projects;

    public long Payloads => _projects.Values.Sum(v => v.Payloads);

    public void Add(string project, long payloads, long bytes)
    {
        var (p, b) = _projects.GetValueOrDefault(project);
        _projects[project] = (p + payloads, b + bytes);
    }
}

/// <summary>
/// The statements that remove stored data: a slice of a project's payloads (with the chunks of chunked ones), pending
/// uploads (with their staged chunks), each in bounded slices so no statement holds locks for long. A slice is taken
/// oldest first through the <c>(project, received_at)</c> index, so each one starts where the last ended instead of
/// scanning a partition again past the rows already deleted.
/// </summary>
internal static class Removal
{
    /// <summary>Rows one statement removes at most.</summary>
    public const int Slice = 5000;

    /// <summary>
    /// Removes up to <see cref="Slice"/> payloads of <paramref name="project"/> matching <paramref name="where"/> (SQL over
    /// the payloads row <c>p</c>, with $1 the project and $2 <paramref name="extra"/>'s value; null: all of the project), and
    /// their chunks; adds them to <paramref name="removed"/> and returns how many there were.
    /// </summary>
    public static async Task<long> PayloadsAsync(
        NpgsqlDataSource dataSource, string project, string? where, NpgsqlParameter? extra, Removed removed, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"""
            WITH doomed AS (
                SELECT p.project, p.session_id, p.seq, p.expires_at FROM ingest.payloads p
                WHERE p.project = $1 AND {where ?? "true"}
                ORDER BY p.received_at LIMIT {Slice}),
            gone AS (
                DELETE FROM ingest.payloads p USING doomed d
                WHERE p.project = d.project AND p.session_id = d.session_id AND p.seq = d.seq AND p.expires_at = d.expires_at
                RETURNING p.payload_id, p.chunk_count, p.length),
            chunks AS (
                DELETE FROM ingest.payload_chunks c USING gone g WHERE g.chunk_count > 1 AND c.payload_id = g.payload_id)
            SELECT count(*), coalesce(sum(length), 0)::bigint FROM gone
            """,
            extra is null ? [Text(project)] : [Text(project), extra]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (count, bytes) = (reader.GetInt64(0), reader.GetInt64(1));
        removed.Add(project, count, bytes);
        return count;
    }

    /// <summary>Runs <see cref="PayloadsAsync"/> until a slice comes back short.</summary>
    public static async Task AllPayloadsAsync(
        NpgsqlDataSource dataSource, string project, string? where, Func<NpgsqlParameter>? extra, Removed removed, CancellationToken ct)
    {
        while (await PayloadsAsync(dataSource, project, where, extra?.Invoke(), removed, ct) == Slice)
        {
        }
    }

    /// <summary>Removes the pending uploads matching <paramref name="where"/> (over <c>u</c>) and their staged chunks; returns how many.</summary>
    public static async Task<long> PendingUploadsAsync(
        NpgsqlDataSource dataSource, string where, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(dataSource,
            $"""
            WITH gone AS (DELETE FROM ingest.pending_uploads u WHERE {where} RETURNING u.payload_id),
                 chunks AS (DELETE FROM ingest.payload_chunks c USING gone g WHERE c.payload_id = g.payload_id)
            SELECT count(*) FROM gone
            """,
            parameters);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
