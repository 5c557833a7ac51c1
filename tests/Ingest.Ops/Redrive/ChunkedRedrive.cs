using System.Buffers;
using System.Data;
using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Npgsql;
using NpgsqlTypes;

namespace Ingest.Ops.Redrive;

/// <summary>
/// Redrives a chunked payload. Its dead letter is its last chunk, with a reference to the chunks staged before
/// it (<c>ingest.payload_chunks</c> under the payload id); the upload is sent again as a fresh one — a new
/// payload id, so none of the old staging state (marked dead-lettered, or pending) applies to it — with the same
/// session, seq, received-at and claimed length and checksum, chunk by chunk in order, the last only after the
/// others are acknowledged, as the API sends one. Then the old staging is removed, unless a stored row uses it.
/// </summary>
internal static class ChunkedRedrive
{
    private const string CountSql =
        "SELECT count(*), coalesce(max(chunk_index), -1) FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index < $2";

    private const string ChunksSql =
        "SELECT body FROM ingest.payload_chunks WHERE payload_id = $1 AND chunk_index < $2 ORDER BY chunk_index";

    private const string ForgetSql =
        """
        WITH unused AS (SELECT $1::uuid AS id WHERE NOT EXISTS (SELECT 1 FROM ingest.payloads WHERE payload_id = $1)),
             pending AS (DELETE FROM ingest.pending_uploads p USING unused WHERE p.payload_id = unused.id)
        DELETE FROM ingest.payload_chunks c USING unused WHERE c.payload_id = unused.id
        """;

    /// <summary>Sends the payload again (unless <paramref name="dryRun"/>); returns the chunk count and the new payload id.</summary>
    public static async Task<(int Chunks, Guid? PayloadId)> SendAsync(
        ConsumeResult<byte[]?, byte[]?> letter,
        PayloadEnvelope envelope,
        string target,
        IProducer<byte[]?, byte[]?> producer,
        NpgsqlDataSource? store,
        bool dryRun,
        Headers passthrough,
        CancellationToken cancellationToken)
    {
        var where = $"{letter.Topic}/{letter.Partition.Value}@{letter.Offset.Value}";
        var k = envelope.ChunkIndex;
        if (!envelope.IsLastChunk)
        {
            throw new RedriveException(
                $"{where} is chunk {k} of payload {envelope.PayloadId:N}, not its last: the chunks after it were never dead-lettered, so it cannot be redriven whole");
        }

        if (store is null)
        {
            throw new RedriveException(
                $"{where} is the last chunk ({k}) of chunked payload {envelope.PayloadId:N}; its earlier chunks are staged in the store: pass --db or set ConnectionStrings__Ingest");
        }

        try
        {
            await using var connection = await store.OpenConnectionAsync(cancellationToken);
            await using (var count = Command(connection, CountSql, envelope.PayloadId, k))
            await using (var reader = await count.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                var (staged, highest) = (reader.GetInt64(0), reader.GetInt32(1));
                if (staged != k || highest != k - 1)
                {
                    throw new RedriveException(
                        $"{where}: chunked payload {envelope.PayloadId:N} needs chunks 0…{k - 1} staged in the store, found {staged} (discarded, or a different database?)");
                }
            }

            if (dryRun)
            {
                return (k + 1, null);
            }

            var payloadId = Guid.NewGuid();
            var hash = new XxHash3();
            long length = 0;
            await using (var chunks = Command(connection, ChunksSql, envelope.PayloadId, k))
            await using (var reader = await chunks.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken))
            {
                for (var index = 0; await reader.ReadAsync(cancellationToken); index++)
                {
                    var body = await reader.GetFieldValueAsync<byte[]>(0, cancellationToken);
                    length += Hash(body, hash);
                    var chunk = envelope with
                    {
                        PayloadId = payloadId, ChunkIndex = index, IsLastChunk = false, Length = length, Checksum = hash.GetCurrentHashAsUInt64(),
                    };
                    await ProduceAsync(producer, target, letter, chunk, body, passthrough, cancellationToken);
                }
            }

            // The last chunk is the letter's own value, with the upload's claimed totals: a payload whose bytes do
            // not match its checksum fails verification again instead of being made to pass.
            await ProduceAsync(producer, target, letter, envelope with { PayloadId = payloadId }, letter.Message.Value, passthrough, cancellationToken);
            await using (var forget = Command(connection, ForgetSql, envelope.PayloadId))
            {
                await forget.ExecuteNonQueryAsync(cancellationToken);
            }

            return (k + 1, payloadId);
        }
        catch (NpgsqlException ex)
        {
            throw new RedriveException($"{where}: cannot read its staged chunks from the store: {ex.Message}", ex);
        }
    }

    private static Task<DeliveryResult<byte[]?, byte[]?>> ProduceAsync(
        IProducer<byte[]?, byte[]?> producer, string target, ConsumeResult<byte[]?, byte[]?> letter, PayloadEnvelope chunk, byte[]? value,
        Headers passthrough, CancellationToken cancellationToken)
    {
        var headers = new Headers();
        foreach (var header in passthrough.Where(h => !h.Key.StartsWith("ingest-", StringComparison.Ordinal) || h.Key == Redriver.RedrivenFromHeader))
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        return producer.ProduceAsync(
            target, new Message<byte[]?, byte[]?> { Key = letter.Message.Key, Value = value, Headers = chunk.WriteTo(headers) }, cancellationToken);
    }

    /// <summary>Appends a chunk's decoded bytes to <paramref name="hash"/>; returns how many.</summary>
    private static int Hash(byte[] body, XxHash3 hash)
    {
        var decoded = ArrayPool<byte>.Shared.Rent(PayloadCodec.GetDecodedLength(body));
        try
        {
            var n = PayloadCodec.Decode(body, decoded);
            hash.Append(decoded.AsSpan(0, n));
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, Guid payloadId, int? below = null)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = payloadId, NpgsqlDbType = NpgsqlDbType.Uuid });
        if (below is { } b)
        {
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = b, NpgsqlDbType = NpgsqlDbType.Integer });
        }

        return command;
    }
}
