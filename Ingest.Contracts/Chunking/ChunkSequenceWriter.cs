using System.IO.Hashing;
using System.Runtime.CompilerServices;
using Ingest.Contracts.Envelope;

namespace Ingest.Contracts.Chunking;

/// <summary>
/// Writes the envelopes of one upload's chunks (<see cref="PayloadChunking"/>): indexes from 0, <c>ingest-length</c> and
/// <c>ingest-checksum</c> as running totals (XxHash3-64, seed 0, of the decoded bytes so far), the last flag on the last
/// chunk. The one place producers (the API, redrive, tests) compute them, so they cannot drift apart.
/// </summary>
/// <param name="upload">The upload's envelope; its chunk index, totals and flags are replaced chunk by chunk.</param>
public sealed class ChunkSequenceWriter(PayloadEnvelope upload)
{
    private readonly XxHash3 _hash = new();

    /// <summary>Chunks written so far and their decoded bytes.</summary>
    public ChunkPosition Position { get; private set; }

    /// <summary>The envelope of the latest chunk written, if any.</summary>
    public PayloadEnvelope? Last { get; private set; }

    /// <summary>Totals of the chunks so far: after the last chunk, the whole payload's (what its header carries).</summary>
    public ChunkTotals Totals => new(Position.Next, Position.Length, _hash.GetCurrentHashAsUInt64());

    /// <summary>The envelope of the next chunk, whose decoded bytes are <paramref name="decoded"/>.</summary>
    /// <exception cref="InvalidOperationException">The last chunk was written already.</exception>
    public PayloadEnvelope Next(ReadOnlySpan<byte> decoded, bool isLast)
    {
        if (Last is { IsLastChunk: true })
        {
            throw new InvalidOperationException($"Chunk {Last.ChunkIndex} was the upload's last; nothing follows it.");
        }

        _hash.Append(decoded);
        var index = Position.Next;
        Position = Position.After(decoded.Length);
        Last = upload with
        {
            ChunkIndex = index, Length = Position.Length, Checksum = _hash.GetCurrentHashAsUInt64(), IsLastChunk = isLast, IsAbort = false,
        };
        return Last;
    }

    /// <summary>
    /// The abort marker's envelope for an upload whose latest produced chunk had <paramref name="lastProduced"/>: the next
    /// index, running totals unchanged, not last, <c>ingest-abort=1</c> (its value is an empty codec block).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="lastProduced"/> is a last chunk: a completed upload has no marker.</exception>
    public static PayloadEnvelope AbortMarkerAfter(PayloadEnvelope lastProduced) => lastProduced.IsLastChunk
        ? throw new ArgumentException("An abort marker never follows a last chunk.", nameof(lastProduced))
        : lastProduced with { ChunkIndex = lastProduced.ChunkIndex + 1, IsLastChunk = false, IsAbort = true };

    /// <summary>
    /// <paramref name="payload"/> cut into chunks of <paramref name="chunkBytes"/> decoded bytes (the last one shorter; an
    /// empty payload is one empty last chunk), each with its envelope.
    /// </summary>
    public static IEnumerable<(PayloadEnvelope Envelope, ReadOnlyMemory<byte> Data)> Split(
        PayloadEnvelope upload, ReadOnlyMemory<byte> payload, int chunkBytes)
    {
        ValidateChunkBytes(chunkBytes);
        return Chunks();

        IEnumerable<(PayloadEnvelope, ReadOnlyMemory<byte>)> Chunks()
        {
            var writer = new ChunkSequenceWriter(upload);
            var offset = 0;
            do
            {
                var data = payload.Slice(offset, Math.Min(chunkBytes, payload.Length - offset));
                offset += data.Length;
                yield return (writer.Next(data.Span, isLast: offset == payload.Length), data);
            }
            while (offset < payload.Length);
        }
    }

    /// <summary>
    /// <paramref name="payload"/> read to its end and cut as <see cref="Split"/> cuts it, reading one chunk ahead to know
    /// which is the last. Each chunk's data is valid until the next one is asked for.
    /// </summary>
    public static async IAsyncEnumerable<(PayloadEnvelope Envelope, ReadOnlyMemory<byte> Data)> SplitAsync(
        PayloadEnvelope upload, Stream payload, int chunkBytes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ValidateChunkBytes(chunkBytes);
        var writer = new ChunkSequenceWriter(upload);
        var (current, ahead) = (new byte[chunkBytes], new byte[chunkBytes]);
        var filled = await payload.ReadAtLeastAsync(current, chunkBytes, throwOnEndOfStream: false, cancellationToken);
        while (true)
        {
            var next = filled == chunkBytes ? await payload.ReadAtLeastAsync(ahead, chunkBytes, throwOnEndOfStream: false, cancellationToken) : 0;
            yield return (writer.Next(current.AsSpan(0, filled), isLast: next == 0), current.AsMemory(0, filled));
            if (next == 0)
            {
                yield break;
            }

            (current, ahead, filled) = (ahead, current, next);
        }
    }

    private static void ValidateChunkBytes(int chunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkBytes, PayloadChunking.MaxChunkBytes);
    }
}
