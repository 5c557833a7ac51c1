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

    /// <summary>
    /// Stores <paramref name="payload"/> as one block; <paramref name="length"/> and <paramref name="checksum"/> replace
    /// its own for a row that does not add up.
    /// </summary>
    public async Task InsertAsync(
        string project, string sessionId, long seq, byte[] payload, string contentType, int partition, long offset, CancellationToken cancellationToken,
        long? length = null, ulong? checksum = null)
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
