using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Ingest.Storage.Schema;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Ingest.Api.Tests.Sessions;

/// <summary>Rows written the way the worker writes them: its schema, LZ4-encoded bodies, Kafka coordinates.</summary>
public sealed class StoredRows(string connectionString)
{
    public async Task ApplySchemaAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, cancellationToken);
    }

    public async Task InsertAsync(
        string project, string sessionId, long seq, byte[] payload, string contentType, int partition, long offset, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO ingest.payloads
                (project, session_id, seq, payload_id, content_type, length, checksum, encoding, body, kafka_partition, kafka_offset, received_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
            """,
            connection);
        object[] values =
        [
            project, sessionId, seq, Guid.NewGuid(), contentType, (long)payload.Length,
            unchecked((long)XxHash3.HashToUInt64(payload)), PayloadCodec.Name, PayloadCodec.Encode(payload), partition, offset,
        ];
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
