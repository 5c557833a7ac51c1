using Ingest.Contracts.Chunking;
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

        // Hashed as read (a soak stores gigabytes): whole bodies at once, chunked ones after the scan (a second query).
        var result = new List<StoredPayload>();
        var chunked = new List<(int Index, Guid PayloadId)>();
        await using (var command = new NpgsqlCommand(
            "SELECT project, session_id, seq, position, body, payload_id, stored_at FROM ingest.payloads ORDER BY position", connection))
        await using (var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var (project, session, seq, position) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3));
                var body = await reader.IsDBNullAsync(4, ct) ? null : await reader.GetFieldValueAsync<byte[]>(4, ct);
                var (payloadId, storedAt) = (reader.GetGuid(5), reader.GetFieldValue<DateTimeOffset>(6));
                var (length, hash) = body is null ? (0L, 0UL) : Hash(body);
                if (body is null)
                {
                    chunked.Add((result.Count, payloadId));
                }

                result.Add(new StoredPayload(project, session, seq, position, length, hash, storedAt));
            }
        }

        foreach (var (index, payloadId) in chunked)
        {
            var (length, hash) = await HashChunksAsync(connection, payloadId, ct);
            result[index] = result[index] with { Length = length, Hash = hash };
        }

        return result;
    }

    /// <summary>Length and XxHash3 of the decoded bytes of a payload stored as one block.</summary>
    private static (long Length, ulong Hash) Hash(byte[] body)
    {
        var verifier = new ChunkSequenceVerifier();
        Add(verifier, 0, body);
        return (verifier.Position.Length, verifier.Checksum);
    }

    /// <summary>
    /// Length and XxHash3 of the decoded bytes of a chunked payload's staged chunks, streamed in index order through the
    /// contract's verifier: a missing or repeated chunk stops the count there, so the payload shows as corrupt.
    /// </summary>
    private static async Task<(long Length, ulong Hash)> HashChunksAsync(NpgsqlConnection connection, Guid payloadId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT chunk_index, body FROM ingest.payload_chunks WHERE payload_id = $1 ORDER BY chunk_index", connection)
        {
            Parameters = { new NpgsqlParameter<Guid> { TypedValue = payloadId } },
        };
        var verifier = new ChunkSequenceVerifier();
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            Add(verifier, reader.GetInt32(0), await reader.GetFieldValueAsync<byte[]>(1, ct));
        }

        return (verifier.Position.Length, verifier.Checksum);
    }

    private static void Add(ChunkSequenceVerifier verifier, int index, byte[] block)
    {
        using var decoded = DecodedBlock.Decode(block);
        verifier.Add(index, decoded.Span);
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
}
