using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Payloads;
using Npgsql;

namespace Ingest.Storage.Chunks;

/// <summary>
/// Stages one chunk of a chunked payload inside the batch transaction by the contract's chunk rules: checks it
/// continues its upload (<see cref="ChunkPosition"/>: index and running length), stages it idempotently, and on the last
/// chunk verifies the whole payload by streaming the staged chunks (one decoded at a time) through a
/// <see cref="ChunkSequenceVerifier"/> before writing the payloads row. All state lives in Postgres, so a redelivery after a rebalance finds it.
/// </summary>
internal static class ChunkWriter
{
    /// <summary>
    /// Stages <paramref name="chunk"/> and, on the last one, stores its payload's row through <paramref name="rows"/>. The
    /// upload expires when its first staged chunk said (<paramref name="expiresAt"/> for a new one): all its chunks and its
    /// row share one partition; an upload already past it at <paramref name="now"/> is not continued.
    /// </summary>
    public static async Task<StoreResult> WriteAsync(
        PayloadRows rows, NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload chunk, DateTimeOffset expiresAt,
        DateTimeOffset now, CancellationToken ct)
    {
        var e = chunk.Envelope;
        if (e.IsAbort)
        {
            return await AbortAsync(connection, transaction, chunk, ct);
        }

        var decoded = PayloadCodec.GetDecodedLength(chunk.Body);
        var pending = await PendingUploads.ReadAsync(connection, transaction, e.PayloadId, ct);
        if (pending is { ExpiresAt: var uploadExpires } && uploadExpires <= now)
        {
            return new StoreResult(StoreOutcome.Expired); // the upload's first chunk was received longer ago than its retention
        }

        expiresAt = pending?.ExpiresAt ?? expiresAt;
        if (pending is null && await StagedChunks.ExistsAsync(connection, transaction, e.PayloadId, e.ChunkIndex, ct))
        {
            // Not pending, yet this chunk is staged: its upload was stored, so this is a redelivery. (A chunk not staged
            // starts an upload if it is chunk 0, and is a gap otherwise: below.)
            return new StoreResult(StoreOutcome.ChunkRedelivery);
        }

        if (pending is { DeadLettered: true } letter && letter.LetterOffset == chunk.Offset)
        {
            // This very message was dead-lettered, but its offset was not committed: its letter may never have
            // reached the DLQ (a crash or rebalance after the mark), so it is sent again.
            return new StoreResult(
                StoreOutcome.Poison, letter.LetterError ?? "dead-lettered before", await StagedChunks.OffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        if (pending is { DeadLettered: true } or { Aborted: true })
        {
            // An aborted upload's chunks come again only as redeliveries (the API never produces after the marker).
            return new StoreResult(StoreOutcome.ChunkRedelivery);
        }

        var position = pending is { } p ? new ChunkPosition(p.Next, p.Length) : ChunkPosition.Start;
        var check = position.Check(e.ChunkIndex, decoded, e.Length);
        switch (check.Step)
        {
            case ChunkStep.Behind:
                return new StoreResult(StoreOutcome.ChunkRedelivery);
            case ChunkStep.Gap:
                if (pending is not null)
                {
                    await PendingUploads.DiscardAsync(connection, transaction, e.PayloadId, ct);
                }

                return new StoreResult(StoreOutcome.DataLoss, check.Reason);
            case ChunkStep.LengthMismatch:
                await PendingUploads.MarkDeadLetteredAsync(connection, transaction, chunk, e.ChunkIndex, position.Length, check.Reason!, expiresAt, ct);
                return new StoreResult(StoreOutcome.Poison, check.Reason, await StagedChunks.OffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        await StagedChunks.StageAsync(connection, transaction, chunk, decoded, expiresAt, ct);
        await PendingUploads.ContinueAsync(connection, transaction, chunk, position.After(decoded), expiresAt, ct);
        return e.IsLastChunk
            ? await CompleteAsync(rows, connection, transaction, chunk, expiresAt, ct)
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
        PayloadRows rows, NpgsqlConnection connection, NpgsqlTransaction transaction, IncomingPayload last, DateTimeOffset expiresAt, CancellationToken ct)
    {
        var e = last.Envelope;
        var verifier = await VerifyStagedAsync(connection, transaction, e, ct);
        if (verifier.Finish() is { IsComplete: false } verdict)
        {
            await PendingUploads.MarkDeadLetteredAsync(
                connection, transaction, last, e.ChunkIndex + 1, verifier.Position.Length, verdict.Reason!, expiresAt, ct);
            return new StoreResult(StoreOutcome.Poison, verdict.Reason, await StagedChunks.OffsetsAsync(connection, transaction, e.PayloadId, ct));
        }

        await PendingUploads.RemoveAsync(connection, transaction, e.PayloadId, ct);
        var result = (await rows.InsertAsync([new PayloadRow(e, null, last.Partition, last.Offset, verifier.Position.Next, expiresAt)], ct))[0];
        if (result.Outcome is StoreOutcome.ClientRetry or StoreOutcome.ConflictingDuplicate)
        {
            // Another upload of this (session, seq) is stored: this one's chunks are not referenced by any row.
            await StagedChunks.DeleteAsync(connection, transaction, e.PayloadId, ct);
        }

        return result;
    }

    /// <summary>
    /// The staged chunks, streamed in order (one decoded at a time) through a verifier expecting the totals
    /// <paramref name="last"/> claims; what follows a hole or an excess chunk is not decoded.
    /// </summary>
    private static async Task<ChunkSequenceVerifier> VerifyStagedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PayloadEnvelope last, CancellationToken ct)
    {
        var verifier = new ChunkSequenceVerifier(ChunkTotals.Of(last));
        await StagedChunks.ReadAsync(connection, transaction, last.PayloadId, int.MaxValue, (index, body, _) =>
        {
            if (!verifier.Verdict.IsCorrupt)
            {
                using var decoded = DecodedBlock.Decode(body);
                verifier.Add(index, decoded.Span);
            }

            return ValueTask.CompletedTask;
        }, ct);
        return verifier;
    }
}
