using System.Data;
using Ingest.Storage.Chunks;
using Ingest.Storage.Lifecycle;
using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Reading;

/// <summary>Body of <c>GET /v1/sessions/{sessionId}</c>.</summary>
public sealed record SessionSummary(
    string SessionId, long PayloadCount, long Bytes, long FirstSeq, long LastSeq, DateTimeOffset FirstStoredAt, DateTimeOffset LastStoredAt);

/// <summary>One item of <c>GET /v1/sessions/{sessionId}/payloads</c>.</summary>
public sealed record PayloadItem(long Position, long Seq, long Bytes, string ContentType, int Partition, long Offset, DateTimeOffset StoredAt);

/// <summary>
/// A stored payload: media type, decoded length and XxHash3-64 checksum (what its bytes must add up to when read back),
/// and either its one <see cref="Contracts.Codec.PayloadCodec"/> block (<paramref name="EncodedBody"/>, chunk count 1)
/// or the id its chunks are stored under.
/// </summary>
public sealed record StoredPayload(string ContentType, long Length, ulong Checksum, int ChunkCount, Guid PayloadId, byte[]? EncodedBody);

/// <summary>One stored payload as <c>ingest-ops sessions show</c> lists it, with when it was received and stored.</summary>
public sealed record AppliedPayload(
    long Position, long Seq, long Length, string ContentType, int Partition, long Offset, DateTimeOffset ReceivedAt, DateTimeOffset StoredAt);

/// <summary>
/// Reads <c>ingest.payloads</c> (the worker writes it), always within one project, and only what may still be read: a
/// payload past its project's retention, or of a session or project erased, is not there, even before the worker's
/// maintenance has removed it.
/// </summary>
public sealed class SessionReader(NpgsqlDataSource dataSource, RetentionPolicy retention)
{
    /// <summary>The rows of session ($1, $2) that may be read; $3 is the project's retention.</summary>
    private const string Readable =
        """
        project = $1 AND session_id = $2 AND expires_at > now() AND received_at > now() - $3::interval
        AND NOT EXISTS (SELECT 1 FROM ingest.sessions s WHERE s.project = $1 AND s.session_id = $2 AND s.erased_at IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM ingest.erased_projects e WHERE e.project = $1)
        """;

    public async Task<SessionSummary?> GetSummaryAsync(string projectId, string sessionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT count(*), coalesce(sum(length), 0)::bigint, min(seq), max(seq), min(stored_at), max(stored_at)
            FROM ingest.payloads WHERE {Readable}
            """);
        AddSession(command, projectId, sessionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var count = reader.GetInt64(0);
        return count == 0
            ? null
            : new SessionSummary(
                sessionId, count, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5));
    }

    /// <summary>Up to <paramref name="limit"/> payloads with position greater than <paramref name="afterPosition"/>, in position order.</summary>
    public async Task<List<PayloadItem>> ListAsync(
        string projectId, string sessionId, long afterPosition, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT position, seq, length, content_type, kafka_partition, kafka_offset, stored_at
            FROM ingest.payloads
            WHERE {Readable} AND position > $4
            ORDER BY position
            LIMIT $5
            """);
        AddSession(command, projectId, sessionId);
        command.Parameters.Add(new NpgsqlParameter { Value = afterPosition });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<PayloadItem>(Math.Min(limit, 128));
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new PayloadItem(
                reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3),
                reader.GetInt32(4), reader.GetInt64(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return items;
    }

    public async Task<bool> ExistsAsync(string projectId, string sessionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT EXISTS (SELECT 1 FROM ingest.payloads WHERE {Readable})");
        AddSession(command, projectId, sessionId);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The payload's row; the body is read only for a single-chunk payload (at most one chunk's size).</summary>
    public async Task<StoredPayload?> GetPayloadAsync(string projectId, string sessionId, long seq, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT content_type, length, checksum, chunk_count, payload_id, CASE WHEN chunk_count = 1 THEN body END
            FROM ingest.payloads WHERE {Readable} AND seq = $4
            """);
        AddSession(command, projectId, sessionId);
        command.Parameters.Add(new NpgsqlParameter { Value = seq });
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredPayload(
                reader.GetString(0), reader.GetInt64(1), unchecked((ulong)reader.GetInt64(2)), reader.GetInt32(3), reader.GetGuid(4),
                await reader.IsDBNullAsync(5, cancellationToken) ? null : await reader.GetFieldValueAsync<byte[]>(5, cancellationToken))
            : null;
    }

    /// <summary>
    /// Calls <paramref name="onChunk"/> with each stored chunk block of <paramref name="payloadId"/> in index order,
    /// one row in memory at a time; returns how many there were.
    /// </summary>
    public async Task<int> ReadChunksAsync(
        Guid payloadId, Func<int, byte[], CancellationToken, ValueTask> onChunk, CancellationToken cancellationToken) =>
        await StagedUploads.ReadAsync(dataSource, payloadId, int.MaxValue, onChunk, cancellationToken);

    /// <summary>The first <paramref name="limit"/> payloads of the session in applied (position) order, with their times.</summary>
    public async Task<List<AppliedPayload>> ListAppliedAsync(string projectId, string sessionId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT position, seq, length, content_type, kafka_partition, kafka_offset, received_at, stored_at
            FROM ingest.payloads WHERE {Readable} ORDER BY position LIMIT $4
            """);
        AddSession(command, projectId, sessionId);
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<AppliedPayload>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AppliedPayload(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt32(4),
                reader.GetInt64(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return rows;
    }

    private void AddSession(NpgsqlCommand command, string projectId, string sessionId)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = projectId });
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId });
        command.Parameters.Add(Interval(retention.For(projectId)));
    }
}
