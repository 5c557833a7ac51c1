using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Npgsql;

namespace Ingest.Faults.Tests.Harness;

/// <summary>One stored payload as the check needs it: where it sits in applied order and a hash of its decoded bytes.</summary>
public sealed record StoredPayload(string Project, string Session, long Seq, long Position, long Length, ulong Hash, DateTimeOffset StoredAt);

/// <summary>Reads <c>ingest.payloads</c> back, decoding each body (or its staged chunks) to hash the original bytes.</summary>
public static class StoredPayloads
{
    public static async Task<List<StoredPayload>> ReadAllAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('ingest.payloads') IS NOT NULL", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(ct))!)
            {
                return [];
            }
        }

        var rows = new List<(string Project, string Session, long Seq, long Position, byte[]? Body, Guid PayloadId, DateTimeOffset StoredAt)>();
        await using (var command = new NpgsqlCommand(
            "SELECT project, session_id, seq, position, body, payload_id, stored_at FROM ingest.payloads ORDER BY position", connection))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3),
                    reader.IsDBNull(4) ? null : (byte[])reader[4], reader.GetGuid(5), reader.GetFieldValue<DateTimeOffset>(6)));
            }
        }

        var result = new List<StoredPayload>(rows.Count);
        foreach (var row in rows)
        {
            var hash = new XxHash3();
            long length = 0;
            foreach (var block in row.Body is { } body ? [body] : await ChunksAsync(connection, row.PayloadId, ct))
            {
                var decoded = PayloadCodec.Decode(block);
                hash.Append(decoded);
                length += decoded.Length;
            }

            result.Add(new StoredPayload(row.Project, row.Session, row.Seq, row.Position, length, hash.GetCurrentHashAsUInt64(), row.StoredAt));
        }

        return result;
    }

    /// <summary>(session, seq) of every stored row of <paramref name="project"/>: cheap enough to poll.</summary>
    public static async Task<HashSet<(string Session, long Seq)>> KeysAsync(string connectionString, string project, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT session_id, seq FROM ingest.payloads WHERE project = $1", connection)
        {
            Parameters = { new NpgsqlParameter<string> { TypedValue = project } },
        };
        var keys = new HashSet<(string, long)>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                keys.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // The worker has not migrated yet.
        }

        return keys;
    }

    private static async Task<List<byte[]>> ChunksAsync(NpgsqlConnection connection, Guid payloadId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT body FROM ingest.payload_chunks WHERE payload_id = $1 ORDER BY chunk_index", connection)
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = payloadId } },
        };
        var blocks = new List<byte[]>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            blocks.Add((byte[])reader[0]);
        }

        return blocks;
    }
}
