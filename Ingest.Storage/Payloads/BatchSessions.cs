using Ingest.Contracts.Envelope;
using Npgsql;
using NpgsqlTypes;

namespace Ingest.Storage.Payloads;

/// <summary>
/// The sessions a batch touches, as <c>ingest.sessions</c> holds them for the batch's transaction: each session's row is
/// upserted first (in key order, so two writers lock in the same order), which reserves the positions the batch's new rows
/// take, widens the session's expiry range and locks the row until commit — an erasure, which updates the same row,
/// therefore comes wholly before or wholly after the batch. A session (or project) erased before is reported so that
/// nothing more of it is stored. The row's <c>max_seq</c> (kept by a trigger on every insert) tells which seqs cannot be
/// stored yet, so their rows need no look-up for an earlier copy.
/// </summary>
internal sealed class BatchSessions
{
    private const string UpsertSql =
        """
        INSERT INTO ingest.sessions AS s (project, session_id, next_position, first_received_at, last_received_at,
                                          min_expires_at, max_expires_at, keep_until)
        SELECT k.project, k.session_id, k.reserve, k.first_received, k.last_received, k.min_expires, k.max_expires, k.max_expires
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
             AS k(project, session_id, reserve, first_received, last_received, min_expires, max_expires)
        ORDER BY k.project, k.session_id
        ON CONFLICT (project, session_id) DO UPDATE SET
            next_position     = s.next_position + excluded.next_position,
            first_received_at = least(s.first_received_at, excluded.first_received_at),
            last_received_at  = greatest(s.last_received_at, excluded.last_received_at),
            min_expires_at    = least(s.min_expires_at, excluded.min_expires_at),
            max_expires_at    = greatest(s.max_expires_at, excluded.max_expires_at),
            keep_until        = greatest(s.keep_until, excluded.keep_until)
        RETURNING project, session_id, next_position, min_expires_at, max_expires_at, erased_at IS NOT NULL, max_seq
        """;

    private const string ErasedProjectsSql = "SELECT project FROM ingest.erased_projects WHERE project = ANY($1)";

    private readonly Dictionary<(string, string), State> _sessions;

    private BatchSessions(Dictionary<(string, string), State> sessions) => _sessions = sessions;

    /// <summary>
    /// Upserts the rows of the sessions of <paramref name="payloads"/> (those not expired), reserving one position for each
    /// payload that may become a row (a whole payload or a last chunk).
    /// </summary>
    public static async Task<BatchSessions> UpsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<(IncomingPayload Payload, DateTimeOffset ExpiresAt)> payloads,
        CancellationToken ct)
    {
        var touched = new Dictionary<(string, string), Touch>();
        foreach (var (payload, expiresAt) in payloads)
        {
            var e = payload.Envelope;
            var key = (e.ProjectId, e.SessionId);
            var reserve = e.IsLastChunk && !e.IsAbort ? 1 : 0;
            touched[key] = touched.TryGetValue(key, out var t)
                ? new Touch(t.Reserve + reserve, Min(t.FirstReceived, e.ReceivedAt), Max(t.LastReceived, e.ReceivedAt),
                    Min(t.MinExpires, expiresAt), Max(t.MaxExpires, expiresAt))
                : new Touch(reserve, e.ReceivedAt, e.ReceivedAt, expiresAt, expiresAt);
        }

        var sessions = new Dictionary<(string, string), State>();
        if (touched.Count == 0)
        {
            return new BatchSessions(sessions);
        }

        var keys = touched.Keys.ToList();
        var values = touched.Values.ToList();
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(UpsertSql)
                {
                    Parameters =
                    {
                        Array(keys.Select(k => k.Item1), NpgsqlDbType.Text), Array(keys.Select(k => k.Item2), NpgsqlDbType.Text),
                        Array(values.Select(v => v.Reserve), NpgsqlDbType.Bigint),
                        Array(values.Select(v => v.FirstReceived), NpgsqlDbType.TimestampTz),
                        Array(values.Select(v => v.LastReceived), NpgsqlDbType.TimestampTz),
                        Array(values.Select(v => v.MinExpires), NpgsqlDbType.TimestampTz),
                        Array(values.Select(v => v.MaxExpires), NpgsqlDbType.TimestampTz),
                    },
                },
                new NpgsqlBatchCommand(ErasedProjectsSql) { Parameters = { Array(keys.Select(k => k.Item1).Distinct(), NpgsqlDbType.Text) } },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var key = (reader.GetString(0), reader.GetString(1));
            var last = reader.GetInt64(2);
            sessions[key] = new State(
                last - touched[key].Reserve + 1, reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5),
                reader.IsDBNull(6) ? null : reader.GetInt64(6));
        }

        await reader.NextResultAsync(ct);
        var erasedProjects = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            erasedProjects.Add(reader.GetString(0));
        }

        foreach (var key in keys.Where(k => erasedProjects.Contains(k.Item1)))
        {
            sessions[key] = sessions[key] with { Erased = true };
        }

        return new BatchSessions(sessions);
    }

    /// <summary>True when the session (or its project) was erased: nothing more of it is stored.</summary>
    public bool IsErased(PayloadEnvelope envelope) => _sessions[(envelope.ProjectId, envelope.SessionId)].Erased;

    /// <summary>The expiry range of the session's rows, this batch's included: where its earlier rows can be.</summary>
    public (DateTimeOffset Min, DateTimeOffset Max) ExpiryRange(PayloadEnvelope envelope)
    {
        var state = _sessions[(envelope.ProjectId, envelope.SessionId)];
        return (state.MinExpires, state.MaxExpires);
    }

    /// <summary>The next position reserved for the session's rows, in the order they are written.</summary>
    public long TakePosition(PayloadEnvelope envelope)
    {
        var key = (envelope.ProjectId, envelope.SessionId);
        var state = _sessions[key];
        _sessions[key] = state with { NextPosition = state.NextPosition + 1 };
        return state.NextPosition;
    }

    /// <summary>
    /// True when no row with the envelope's seq can be stored for its session yet: the seq is above every seq stored
    /// before the batch and every seq this transaction has written (or tried to). From now on the seq counts as written.
    /// </summary>
    public bool TakeUnseenSeq(PayloadEnvelope envelope)
    {
        var key = (envelope.ProjectId, envelope.SessionId);
        var state = _sessions[key];
        if (state.MaxSeq is { } max && envelope.Seq <= max)
        {
            return false;
        }

        _sessions[key] = state with { MaxSeq = envelope.Seq };
        return true;
    }

    private static NpgsqlParameter Array<T>(IEnumerable<T> values, NpgsqlDbType type) =>
        new NpgsqlParameter<T[]> { TypedValue = [.. values], NpgsqlDbType = NpgsqlDbType.Array | type };

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private readonly record struct Touch(long Reserve, DateTimeOffset FirstReceived, DateTimeOffset LastReceived, DateTimeOffset MinExpires, DateTimeOffset MaxExpires);

    private readonly record struct State(long NextPosition, DateTimeOffset MinExpires, DateTimeOffset MaxExpires, bool Erased, long? MaxSeq);
}
