using Ingest.Testing;
using Npgsql;

namespace Ingest.Worker.Tests.Support;

/// <summary>One row of <c>ingest.payloads</c>, read directly from the database.</summary>
public sealed record StoredRow(
    string Project, string SessionId, long Seq, long Position, Guid PayloadId, string ContentType, long Length, long Checksum,
    string Encoding, byte[] Body, int Partition, long Offset, DateTimeOffset ReceivedAt, DateTimeOffset StoredAt);

/// <summary>Reads what the worker stored.</summary>
public sealed class StoredRows(string connectionString)
{
    public string ConnectionString => connectionString;

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

    /// <summary>Every row, in applied order (position).</summary>
    public async Task<List<StoredRow>> AllAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body,
                   kafka_partition, kafka_offset, received_at, stored_at
            FROM ingest.payloads ORDER BY position
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
}
