using Confluent.Kafka;
using Ingest.Api.Kafka;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Api.Payloads;

/// <summary>
/// The abort marker of an upload the API gave up part-way (<see cref="Contracts.Chunking.PayloadChunking"/>): produced
/// after its chunks under the same key, so the worker drops the staged chunks when it reads it rather than after
/// <c>Worker:AbandonedUploadAfter</c>. Nobody waits for it: the request has its answer already (or its client is gone),
/// and a marker that is lost only leaves the chunks to the sweep, as before.
/// </summary>
public sealed class UploadAbort(PayloadProducer producer, ApiMetrics metrics, ILogger<UploadAbort> logger)
{
    /// <summary>An empty <see cref="PayloadCodec"/> block: a valid chunk value of 0 decoded bytes.</summary>
    private static readonly byte[] EmptyBlock = PayloadCodec.Encode([]);

    /// <summary>The marker for the upload whose last produced chunk had <paramref name="lastProduced"/> as envelope.</summary>
    public static Message<byte[], byte[]> Marker(PayloadEnvelope lastProduced) => new()
    {
        Key = lastProduced.Key,
        Value = EmptyBlock,
        // The next chunk's envelope, running totals unchanged: to a consumer that does not know the header, an empty chunk.
        Headers = ChunkSequenceWriter.AbortMarkerAfter(lastProduced).WriteTo([]),
    };

    /// <summary>Produces the marker in the background (never with the request's token: it is often cancelled by then).</summary>
    public void Send(string topic, PayloadEnvelope lastProduced, string reason)
    {
        Task<DeliveryResult<byte[], byte[]>> delivery;
        try
        {
            delivery = producer.ProduceAsync(topic, Marker(lastProduced), CancellationToken.None);
        }
        catch (Exception ex) when (ex is KafkaException or ObjectDisposedException or InvalidOperationException)
        {
            Failed(lastProduced, reason, ex);
            return;
        }

        _ = delivery.ContinueWith(
            task =>
            {
                if (task.IsCompletedSuccessfully)
                {
                    metrics.UploadAborted("produced");
                    Log.UploadAborted(logger, lastProduced.ProjectId, lastProduced.SessionId, lastProduced.Seq, lastProduced.PayloadId,
                        lastProduced.ChunkIndex + 1, reason, task.Result.Partition.Value, task.Result.Offset.Value);
                }
                else
                {
                    Failed(lastProduced, reason, task.Exception?.InnerException ?? task.Exception);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void Failed(PayloadEnvelope lastProduced, string reason, Exception? error)
    {
        metrics.UploadAborted("failed");
        Log.AbortMarkerFailed(logger, lastProduced.ProjectId, lastProduced.SessionId, lastProduced.Seq, lastProduced.PayloadId, reason, error?.Message);
    }
}
