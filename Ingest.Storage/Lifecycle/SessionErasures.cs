using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Lifecycle;

/// <summary>
/// What an erasure recorded: when the session was first erased, whether the project had stored anything of it, whether
/// this call made the tombstone (else it repeated an erasure) and until when the tombstone stays.
/// </summary>
public sealed record SessionErasure(DateTimeOffset ErasedAt, bool HadData, bool Inserted, DateTimeOffset KeepUntil);

/// <summary>
/// An erased session (<paramref name="SessionId"/> set) or a whole erased project (<paramref name="SessionId"/> null): posts
/// to it are refused until <paramref name="KeepUntil"/>, when the tombstone leaves the database too.
/// </summary>
public sealed record ErasureTombstone(string Project, string? SessionId, DateTimeOffset KeepUntil);

/// <summary>
/// Erasure of sessions (<c>DELETE /v1/sessions/{id}</c>) and the tombstones that make every process refuse their payloads:
/// <c>ingest.sessions.erased_at</c> and <c>ingest.erased_projects</c>, announced on <see cref="Channel"/>.
/// </summary>
public sealed class SessionErasures(NpgsqlDataSource dataSource, RetentionPolicy retention)
{
    /// <summary>
    /// The notification channel: the payload is <c>{project}/{sessionId}</c>, or <c>{project}/</c> for a whole project
    /// (session ids cannot contain <c>/</c>).
    /// </summary>
    public const string Channel = "ingest_erasures";

    // The session's row is the one the worker's writer locks in every batch that touches the session: the erasure
    // serialises with writes, and no batch that commits after it stores anything of the session. The tombstone stays for
    // a retention, so payloads accepted before the erasure and still in Kafka are dropped whenever they arrive.
    private const string EraseSql =
        """
        INSERT INTO ingest.sessions AS s (project, session_id, erased_at, keep_until)
        VALUES ($1, $2, now(), now() + $3::interval)
        ON CONFLICT (project, session_id) DO UPDATE
           SET erased_at = coalesce(s.erased_at, now()), keep_until = greatest(s.keep_until, now() + $3::interval)
        RETURNING erased_at, (xmax = 0) AS inserted, s.next_position > 0 OR s.max_expires_at IS NOT NULL AS had_data, keep_until
        """;

    private const string NotifySql = "SELECT pg_notify($1, $2)";

    private const string ActiveSql =
        """
        SELECT project, session_id, keep_until FROM ingest.sessions WHERE erased_at IS NOT NULL AND keep_until > now()
        UNION ALL
        SELECT project, NULL, keep_until FROM ingest.erased_projects WHERE keep_until > now()
        """;

    /// <summary>
    /// Records the erasure of <paramref name="project"/>'s session <paramref name="sessionId"/> durably (idempotent: a repeat
    /// keeps the first <see cref="SessionErasure.ErasedAt"/>) and notifies <see cref="Channel"/> in the same transaction.
    /// Only the caller's project is touched.
    /// </summary>
    public async Task<SessionErasure> EraseAsync(string project, string sessionId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        SessionErasure erasure;
        await using (var command = Command(connection, transaction, EraseSql, Text(project), Text(sessionId), Interval(retention.For(project))))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            erasure = new SessionErasure(
                reader.GetFieldValue<DateTimeOffset>(0), reader.GetBoolean(2), reader.GetBoolean(1), reader.GetFieldValue<DateTimeOffset>(3));
        }

        await ExecuteAsync(connection, transaction, NotifySql, ct, Text(Channel), Text(NotificationFor(project, sessionId)));
        await transaction.CommitAsync(ct);
        return erasure;
    }

    /// <summary>Every tombstone in force: erased sessions and erased projects whose <c>keep_until</c> is still ahead.</summary>
    public async Task<List<ErasureTombstone>> LoadActiveAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await LoadActiveAsync(connection, ct);
    }

    /// <summary>
    /// <see cref="LoadActiveAsync(CancellationToken)"/> on <paramref name="connection"/>: a listener loads on its listening
    /// connection, so a load that succeeds also proves that connection alive.
    /// </summary>
    public static async Task<List<ErasureTombstone>> LoadActiveAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = Command(connection, null, ActiveSql);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var tombstones = new List<ErasureTombstone>();
        while (await reader.ReadAsync(ct))
        {
            tombstones.Add(new ErasureTombstone(
                reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return tombstones;
    }

    /// <summary>The payload notified for an erased session, or for a whole project when <paramref name="sessionId"/> is null.</summary>
    public static string NotificationFor(string project, string? sessionId) => $"{project}/{sessionId}";

    /// <summary>
    /// The project and session of a notification's payload (session null for a whole project); false for anything else.
    /// </summary>
    public static bool TryParseNotification(string payload, out string project, out string? sessionId)
    {
        var slash = payload.IndexOf('/', StringComparison.Ordinal);
        project = slash > 0 ? payload[..slash] : "";
        sessionId = slash > 0 && slash < payload.Length - 1 ? payload[(slash + 1)..] : null;
        return slash > 0 && (sessionId is null || !sessionId.Contains('/', StringComparison.Ordinal));
    }
}
