using Npgsql;

namespace Ingest.Api.Sessions;

/// <summary>Body of <c>GET /v1/sessions/{sessionId}</c>.</summary>
public sealed record SessionSummary(
    string SessionId, long PayloadCount, long Bytes, long FirstSeq, long LastSeq, DateTimeOffset FirstStoredAt, DateTimeOffset LastStoredAt);

/// <summary>One item of <c>GET /v1/sessions/{sessionId}/payloads</c>.</summary>
public sealed record PayloadItem(long Position, long Seq, long Bytes, string ContentType, int Partition, long Offset, DateTimeOffset StoredAt);

/// <summary>A stored payload: its media type and its <see cref="Contracts.Codec.PayloadCodec"/> body.</summary>
public sealed record StoredPayload(string ContentType, byte[] EncodedBody);

/// <summary>Reads <c>ingest.payloads</c> (owned by the worker), always within one project.</summary>
public sealed class SessionReader(NpgsqlDataSource dataSource)
{
    public async Task<SessionSummary?> GetSummaryAsync(string projectId, string sessionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT count(*), coalesce(sum(length), 0)::bigint, min(seq), max(seq), min(stored_at), max(stored_at)
            FROM ingest.payloads WHERE project = $1 AND session_id = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = projectId });
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId });
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
            """
            SELECT position, seq, length, content_type, kafka_partition, kafka_offset, stored_at
            FROM ingest.payloads
            WHERE project = $1 AND session_id = $2 AND position > $3
            ORDER BY position
            LIMIT $4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = projectId });
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId });
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
            "SELECT EXISTS (SELECT 1 FROM ingest.payloads WHERE project = $1 AND session_id = $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = projectId });
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<StoredPayload?> GetPayloadAsync(string projectId, string sessionId, long seq, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT content_type, body FROM ingest.payloads WHERE project = $1 AND session_id = $2 AND seq = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = projectId });
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId });
        command.Parameters.Add(new NpgsqlParameter { Value = seq });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredPayload(reader.GetString(0), reader.GetFieldValue<byte[]>(1))
            : null;
    }
}
