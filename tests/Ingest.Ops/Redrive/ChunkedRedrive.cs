using Confluent.Kafka;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Chunks;
using Npgsql;

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
            var (staged, highest) = await StagedUploads.CountAsync(store, envelope.PayloadId, k, cancellationToken);
            if (staged != k || highest != k - 1)
            {
                throw new RedriveException(
                    $"{where}: chunked payload {envelope.PayloadId:N} needs chunks 0…{k - 1} staged in the store, found {staged} (discarded, or a different database?)");
            }

            if (dryRun)
            {
                return (k + 1, null);
            }

            var payloadId = Guid.NewGuid();
            // The staged chunks are 0…k-1 in order (counted above): the writer gives each its running totals.
            var writer = new ChunkSequenceWriter(envelope with { PayloadId = payloadId });
            await StagedUploads.ReadAsync(store, envelope.PayloadId, k, async (_, body, token) =>
            {
                PayloadEnvelope chunk;
                using (var decoded = DecodedBlock.Decode(body))
                {
                    chunk = writer.Next(decoded.Span, isLast: false);
                }

                await ProduceAsync(producer, target, letter, chunk, body, passthrough, token);
            }, cancellationToken);

            // The last chunk is the letter's own value, with the upload's claimed totals: a payload whose bytes do
            // not match its checksum fails verification again instead of being made to pass.
            await ProduceAsync(producer, target, letter, envelope with { PayloadId = payloadId }, letter.Message.Value, passthrough, cancellationToken);
            await StagedUploads.ForgetAsync(store, envelope.PayloadId, cancellationToken);

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
}
