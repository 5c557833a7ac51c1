using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Ingest.Storage.Schema;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Ingest.Testing;

/// <summary>One row of <c>ingest.payloads</c>, read directly from the database.</summary>
public sealed record StoredRow(
    string Project, string SessionId, long Seq, long Position, Guid PayloadId, string ContentType, long Length, long Checksum,
    string Encoding, byte[] Body, int Partition, long Offset, DateTimeOffset ReceivedAt, DateTimeOffset StoredAt);

/// <summary>
/// <c>ingest.payloads</c> in a test's database, read and written directly: what the worker stored, and rows written the way
/// the worker writes them (its schema, LZ4-encoded bodies, Kafka coordinates) for tests of the readers.
/// </summary>
public sealed class StoredRows(string connectionString)
{
    public string ConnectionString => connectionString;

    /// <summary>Creates the schema with the storage library's own migrations.</summary>
    public async Task ApplySchemaAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, cancellationToken);
    }

    /// <summary>Rows stored so far; 0 while the worker has not yet migrated (it does so in the background after it has started).</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT to_regclass('ingest.payloads') IS NOT NULL", connection);
        if (!(bool)(await command.ExecuteScalarAsync(cancellationToken))!)
        {
            return 0;
        }

        command.CommandText = "SELECT count(*) FROM ingest.payloads";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Waits until at least <paramref name="expected"/> rows are stored.</summary>
    public Task<long> WaitForCountAsync(long expected, CancellationToken cancellationToken, int seconds = 60) =>
        Eventually.UntilAsync(
            () => CountAsync(cancellationToken), count => count >= expected, TimeSpan.FromSeconds(seconds),
            count => $"Only {count} of {expected} payloads stored", cancellationToken);

    /// <summary>Every row, by session and in each session in applied order (position).</summary>
    public async Task<List<StoredRow>> AllAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body,
                   kafka_partition, kafka_offset, received_at, stored_at
            FROM ingest.payloads ORDER BY project, session_id, position
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<StoredRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new StoredRow(
                reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetGuid(4), reader.GetString(5),
                reader.GetInt64(6), reader.GetInt64(7), reader.GetString(8), reader.IsDBNull(9) ? [] : (byte[])reader[9], reader.GetInt32(10), reader.GetInt64(11),
                reader.GetFieldValue<DateTimeOffset>(12), reader.GetFieldValue<DateTimeOffset>(13)));
        }

        return rows;
    }

    /// <summary>
    /// Inserts one stored payload as the worker would have stored it (one block); <paramref name="length"/> and
    /// <paramref name="checksum"/> replace its own for a row that does not add up.
    /// </summary>
    public async Task InsertAsync(
        string project, string sessionId, long seq, byte[] payload, string contentType, int partition, long offset, CancellationToken cancellationToken,
        long? length = null, ulong? checksum = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // As the worker does: partitions ahead (a statement of their own: a partition cannot be created by a statement that
        // also inserts into its table), then the session's row hands out the position and records the expiry range (30 days).
        await using (var ensure = new NpgsqlCommand("SELECT ingest.ensure_partitions('payloads', now() + interval '32 days', interval '1 day')", connection))
        {
            await ensure.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand(
            """
            WITH s AS (
                INSERT INTO ingest.sessions AS s (project, session_id, next_position, first_received_at, last_received_at,
                                                  min_expires_at, max_expires_at, keep_until)
                VALUES ($1, $2, 1, now(), now(), now() + interval '30 days', now() + interval '30 days', now() + interval '30 days')
                ON CONFLICT (project, session_id) DO UPDATE SET next_position = s.next_position + 1, last_received_at = now(),
                    max_expires_at = now() + interval '30 days', keep_until = now() + interval '30 days'
                RETURNING next_position)
            INSERT INTO ingest.payloads
                (project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body, kafka_partition, kafka_offset,
                 received_at, expires_at)
            SELECT $1, $2, $3, s.next_position, $4, $5, $6, $7, $8, $9, $10, $11, now(), now() + interval '30 days' FROM s
            """,
            connection);
        object[] values =
        [
            project, sessionId, seq, Guid.NewGuid(), contentType, length ?? payload.Length,
            unchecked((long)(checksum ?? XxHash3.HashToUInt64(payload))), PayloadCodec.Name, PayloadCodec.Encode(payload), partition, offset,
        ];
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
