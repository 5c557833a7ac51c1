using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;
using Ingest.Storage.Batches;
using Ingest.Storage.Payloads;
using Ingest.Worker.DeadLetter;

namespace Ingest.Worker.Consuming;

/// <summary>
/// Where <see cref="BatchProcessor"/> puts a batch: the payload store and the dead-letter topic. A seam, so the
/// batch logic (poison isolation, order, outcomes) is unit-tested without Postgres or Kafka; storing itself is
/// covered by the integration tests against both.
/// </summary>
internal interface IBatchSink
{
    /// <summary>
    /// Stores payloads of one partition in one transaction (which other partitions' batches may share), retrying until
    /// stored or cancelled (see <see cref="PayloadStore.StoreAsync(IReadOnlyList{IncomingPayload}, DateTimeOffset?, Action?, CancellationToken)"/>).
    /// </summary>
    Task<StoredBatch> StoreAsync(
        IReadOnlyList<IncomingPayload> payloads, DateTimeOffset? abandonBefore, Action? onStall, CancellationToken cancellationToken);

    /// <summary>Keeps a refused chunk's staged upload for redrive; returns the staged chunks' offsets (see <see cref="PayloadStore.KeepRefusedUploadAsync"/>).</summary>
    Task<string> KeepRefusedUploadAsync(IncomingPayload chunk, string error, Action? onStall, CancellationToken cancellationToken);

    /// <summary>Sends a message to the dead-letter topic and waits for the broker's ack (see <see cref="DeadLetterProducer.SendAsync"/>).</summary>
    Task DeadLetterAsync(ConsumeResult<byte[]?, byte[]?> message, DeadLetterReason reason, CancellationToken cancellationToken);
}

/// <summary>
/// The worker's <see cref="IBatchSink"/>: Postgres through <see cref="PayloadStore"/> (batches in
/// <see cref="SharedTransactions"/>), Kafka through <see cref="DeadLetterProducer"/>.
/// </summary>
internal sealed class BatchSink(PayloadStore store, SharedTransactions transactions, DeadLetterProducer deadLetters) : IBatchSink
{
    public Task<StoredBatch> StoreAsync(
        IReadOnlyList<IncomingPayload> payloads, DateTimeOffset? abandonBefore, Action? onStall, CancellationToken cancellationToken) =>
        transactions.StoreAsync(new BatchPart(payloads, abandonBefore), onStall, cancellationToken);

    public Task<string> KeepRefusedUploadAsync(IncomingPayload chunk, string error, Action? onStall, CancellationToken cancellationToken) =>
        store.KeepRefusedUploadAsync(chunk, error, onStall, cancellationToken);

    public Task DeadLetterAsync(ConsumeResult<byte[]?, byte[]?> message, DeadLetterReason reason, CancellationToken cancellationToken) =>
        deadLetters.SendAsync(message, reason, cancellationToken);
}
