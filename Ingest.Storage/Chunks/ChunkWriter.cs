using System.Buffers;
using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Ingest.Storage.Payloads;
using Npgsql;

namespace Ingest.Storage.Chunks;

/// <summary>
/// Stages one chunk of a chunked payload inside the batch transaction (PayloadChunking): checks it
/// continues its upload (index and running length), stages it idempotently, and on the last chunk
/// verifies the whole payload by streaming the staged chunks (one decoded at a time) before writing the
/// payloads row. All state lives in Postgres, so a redelivery after a rebalance finds it.
/// </summary>
internal static class ChunkWriter
{
    /// <summary>Stages <paramref name="chunk"/> and, on the last one, stores its payload's row through <paramref name="rows"/>.</summary>
    public static async Task<StoreResult> WriteAsync(
        PayloadRows rows, NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, CancellationToken ct)
    {
        var e = chunk.Envelope;
        if (e.IsAbort)
        {
            return await AbortAsync(connection, transaction, chunk, ct);
        }

        var decoded = PayloadCodec.GetDecodedLength(chunk.Body);
        var pending = await PendingUploads.ReadAsync(connection, transaction, e.PayloadId, ct);
        long stagedLength;
        if (pending is null)
        {
            if (e.ChunkIndex > 0 || await StagedChunks.ExistsAsync(connection, transaction, e.PayloadId, 0, ct))
            {
                // Its upload is finished (stored, discarded or never started here): a redelivery, or a gap.
                return await StagedChunks.ExistsAsync(connection, transaction, e.PayloadId, e.ChunkIndex, ct)
                    ? new StoreResult(StoreOutcome.ChunkRedelivery)
                    : new StoreResult(StoreOutcome.DataLoss, $"chunk {e.ChunkIndex} arrived but no earlier chunk of its upload is staged");
            }

            stagedLength = 0;
        }
        else
        {
            var (next, length, deadLettered, letterOffset, letterError, aborted) = pending.Value;
            if (deadLettered && letterOffset == chunk.Offset)
            {
                // This very message was dead-lettered, but its offset was not committed: its letter may never have
                // reached the DLQ (a crash or rebalance after the mark), so it is sent again.
                return new StoreResult(
                    StoreOutcome.Poison, letterError ?? "dead-lettered before", await StagedChunks.OffsetsAsync(connection, transaction, e.PayloadId, ct));
            }

            if (deadLettered || aborted || e.ChunkIndex < next)
            {
                // An aborted upload's chunks come again only as redeliveries (the API never produces after the marker).
                return new StoreResult(StoreOutcome.ChunkRedelivery);
            }

            if (e.ChunkIndex > next)
            {
                await PendingUploads.DiscardAsync(connection, transaction, e.PayloadId, ct);
                return new StoreResult(StoreOutcome.DataLoss, $"chunk {e.ChunkIndex} arrived after chunk {next - 1}: chunks {next}…{e.ChunkIndex - 1} are missing");
            }

            stagedLength = length;
        }

        if (stagedLength + decoded != e.Length)
        {
            var error = $"running length mismatch at chunk {e.ChunkIndex}: staged {stagedLength} + {decoded} decoded bytes, header says {e.Length}";
            await PendingUploads.MarkDeadLetteredAsync(connection, transaction, chunk, e.ChunkIndex, stagedLength, error, ct);
            return new StoreResult(StoreOutcome.Poison, error, await StagedChunks.OffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        await StagedChunks.StageAsync(connection, transaction, chunk, decoded, ct);
        await PendingUploads.ContinueAsync(connection, transaction, chunk, stagedLength + decoded, ct);
        return e.IsLastChunk
            ? await CompleteAsync(rows, connection, transaction, chunk, ct)
            : new StoreResult(StoreOutcome.ChunkStaged);
    }

    /// <summary>
    /// An abort marker: the API gave the upload up. Its staged chunks are deleted now and its pending row kept as an
    /// aborted tombstone (later redeliveries of its chunks are recognised; the sweep removes it). Idempotent, and a no-op
    /// for an upload that is not pending here — stored (its chunks belong to its row), already discarded, or never
    /// staged — or that is dead-lettered (its chunks wait for a redrive).
    /// </summary>
    private static async Task<StoreResult> AbortAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload marker, CancellationToken ct)
    {
        var id = marker.Envelope.PayloadId;
        if (await PendingUploads.ReadAsync(connection, transaction, id, ct) is not { DeadLettered: false, Aborted: false })
        {
            return new StoreResult(StoreOutcome.AbortIgnored);
        }

        var chunks = await StagedChunks.DeleteAsync(connection, transaction, id, ct);
        await PendingUploads.MarkAbortedAsync(connection, transaction, marker, ct);
        return new StoreResult(StoreOutcome.Aborted, $"{chunks} staged chunk(s) dropped");
    }

    private static async Task<StoreResult> CompleteAsync(
        PayloadRows rows, NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload last, CancellationToken ct)
    {
        var e = last.Envelope;
        var (count, length, checksum) = await HashStagedAsync(connection, transaction, e.PayloadId, ct);
        if (count != e.ChunkIndex + 1 || length != e.Length || checksum != e.Checksum)
        {
            var error = $"reassembled payload does not verify: {count} chunks, {length} bytes, checksum {checksum:x16}; expected {e.ChunkIndex + 1} chunks, {e.Length} bytes, {e.Checksum:x16}";
            await PendingUploads.MarkDeadLetteredAsync(connection, transaction, last, e.ChunkIndex + 1, length, error, ct);
            return new StoreResult(StoreOutcome.Poison, error, await StagedChunks.OffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        await PendingUploads.RemoveAsync(connection, transaction, e.PayloadId, ct);
        var result = (await rows.InsertAsync([new PayloadRow(e, null, last.Partition, last.Offset, count)], ct))[0];
        if (result.Outcome is StoreOutcome.ClientRetry or StoreOutcome.ConflictingDuplicate)
        {
            // Another upload of this (session, seq) is stored: this one's chunks are not referenced by any row.
            await StagedChunks.DeleteAsync(connection, transaction, e.PayloadId, ct);
        }

        return result;
    }

    /// <summary>Chunk count, decoded length and XxHash3 of the staged chunks, streamed in order, up to the first hole.</summary>
    private static async Task<(int Count, long Length, ulong Checksum)> HashStagedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid payloadId, CancellationToken ct)
    {
        var hash = new XxHash3();
        var (count, length, hole) = (0, 0L, false);
        await StagedChunks.ReadAsync(connection, transaction, payloadId, int.MaxValue, (index, body, _) =>
        {
            if (hole || index != count)
            {
                hole = true; // a hole in the staged chunks: what follows it does not count
                return ValueTask.CompletedTask;
            }

            var decoded = ArrayPool<byte>.Shared.Rent(PayloadCodec.GetDecodedLength(body));
            try
            {
                var n = PayloadCodec.Decode(body, decoded);
                hash.Append(decoded.AsSpan(0, n));
                length += n;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(decoded);
            }

            count++;
            return ValueTask.CompletedTask;
        }, ct);
        return (count, length, hole ? 0 : hash.GetCurrentHashAsUInt64());
    }
}
