namespace Ingest.Contracts.Chunking;

/// <summary>
/// How a payload larger than one Kafka message travels: as consecutive chunks on the session's
/// partition, each its own message with the full envelope. The rules below are code as well:
/// <see cref="ChunkSequenceWriter"/> writes a sequence's envelopes (and an abort marker's),
/// <see cref="ChunkSequenceVerifier"/> checks one fed in order, <see cref="ChunkPosition"/> checks one more chunk against
/// a staged upload's position.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every message is a chunk. A payload that fits in one is chunk 0 with <c>ingest-chunk-last=1</c>.</item>
/// <item>Chunks of one payload share the payload id and are produced in order under the session's key, so
/// they arrive in order on one partition, possibly interleaved with other sessions' messages and, after a
/// retried batch, possibly twice.</item>
/// <item>Each chunk's value is its own <see cref="Codec.PayloadCodec"/> block of at most
/// <see cref="MaxChunkBytes"/> decoded bytes. Chunks may be shorter than the producer's chunk size (it flushes
/// a partial chunk when its in-flight budget runs short), and the last chunk may be empty (a compressed body
/// that ended exactly on a chunk boundary); only the running totals matter.</item>
/// <item><c>ingest-length</c>/<c>ingest-checksum</c> are running totals through the chunk: the consumer
/// verifies the last chunk's against the whole reassembled payload, and any chunk's against what it has
/// seen so far (a gap or a reordering shows as a mismatch).</item>
/// <item>A payload whose last chunk never comes (the upload failed) is never stored; the consumer discards
/// its chunks by log position, not wall-clock time.</item>
/// <item>When the producer gives an upload up after producing some of its chunks (the client went away, a limit or a
/// timeout refused it), it produces an <em>abort marker</em> after them under the same key: the envelope of the next
/// chunk (index one past the last produced, <c>ingest-chunk-last=0</c>, the running length and checksum unchanged) with
/// <c>ingest-abort=1</c> and an empty codec block as value. A consumer drops the upload's staged chunks on reading it
/// instead of waiting for the abandonment sweep; one that does not know the header stages an empty chunk, which the
/// sweep discards as before. The marker names one upload (its payload id); a retry of the same (session, seq) is a new
/// upload with its own id, untouched by it. A marker for an upload that is stored, dead-lettered or unknown is a no-op.</item>
/// </list>
/// </remarks>
public static class PayloadChunking
{
    /// <summary>Default decoded bytes per chunk: well under Kafka's 1 MB default message size after framing.</summary>
    public const int DefaultChunkBytes = 256 * 1024;

    /// <summary>Largest decoded chunk any consumer must accept.</summary>
    public const int MaxChunkBytes = 4 * 1024 * 1024;
}
