using Ingest.Contracts.Envelope;

namespace Ingest.Storage.Payloads;

/// <summary>
/// One row of <c>ingest.payloads</c> as written: a whole payload keeps its one encoded block in
/// <paramref name="Body"/> (<paramref name="ChunkCount"/> 1); a chunked one has no body and its blocks in
/// <c>ingest.payload_chunks</c> under its payload id.
/// </summary>
/// <param name="Envelope">The payload's envelope (the last chunk's, for a chunked payload).</param>
/// <param name="Body">The encoded block of a whole payload; null for a chunked one.</param>
/// <param name="Partition">Kafka partition of the message that completed it.</param>
/// <param name="Offset">Kafka offset of the message that completed it.</param>
/// <param name="ChunkCount">1 for a whole payload; the number of chunks of a chunked one.</param>
/// <param name="ExpiresAt">When it expires (received + the project's retention): its partition.</param>
internal readonly record struct PayloadRow(PayloadEnvelope Envelope, byte[]? Body, int Partition, long Offset, int ChunkCount, DateTimeOffset ExpiresAt)
{
    /// <summary>The row of a payload sent as one message.</summary>
    public static PayloadRow Whole(IncomingPayload payload, DateTimeOffset expiresAt) =>
        new(payload.Envelope, payload.Body, payload.Partition, payload.Offset, 1, expiresAt);
}
