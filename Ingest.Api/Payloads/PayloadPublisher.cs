using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Api.Auth;
using Ingest.Api.Backpressure;
using Ingest.Api.Kafka;
using Ingest.Api.Limits;
using Ingest.Api.Telemetry;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>Who a payload belongs to and what it is.</summary>
public sealed record PayloadTarget(string ProjectId, string SessionId, long Seq, string ContentType);

/// <summary>
/// Streams one request body to Kafka as chunks (<see cref="Contracts.Chunking.PayloadChunking"/>): each a
/// <see cref="PayloadCodec"/> block under the session key with the full envelope and running length/checksum.
/// Up to <c>Api:ChunksInFlight</c> chunks are unacknowledged at a time (the idempotent producer keeps their
/// order); the last chunk goes only after every earlier one is acknowledged, so a failed upload never has a
/// last chunk and the worker never stores it. A compressed body that ends exactly at a chunk boundary ends
/// with an empty last chunk (a valid codec block of 0 bytes): knowing earlier would mean holding a full chunk
/// while reading ahead.
/// </summary>
public sealed class PayloadPublisher(
    PayloadProducer producer,
    InFlightBudget budget,
    BacklogGuard backlog,
    UploadAbort abort,
    IOptions<IngestOptions> ingest,
    IOptions<ApiOptions> api,
    TimeProvider time,
    ApiMetrics metrics,
    ILogger<PayloadPublisher> logger)
{
    /// <summary>Safety net past <c>message.timeout.ms</c>: a delivery report that never comes must still end the request.</summary>
    private static readonly TimeSpan ReportGrace = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Streams <paramref name="body"/> to Kafka, taking budget from the project's account and bytes from
    /// <paramref name="admission"/>'s byte-rate buckets (none when null).
    /// An upload given up after some of its chunks were produced, and before its last one
    /// was, is followed by its abort marker (<see cref="UploadAbort"/>), so the worker drops its staged chunks promptly.
    /// </summary>
    public async Task<PublishResult> PublishAsync(
        PayloadTarget target, PayloadBodyStream body, long? contentLength, UploadAdmission? admission, CancellationToken cancellationToken)
    {
        var progress = new UploadProgress();
        var result = await PublishChunksAsync(target, body, contentLength, admission, progress, cancellationToken);
        if (result is UploadFailure failure && progress.LastProduced is { } lastProduced && !progress.LastChunkProduced)
        {
            abort.Send(ingest.Value.Topic, lastProduced, failure.Outcome.ToString());
        }

        return result;
    }

    private async Task<PublishResult> PublishChunksAsync(
        PayloadTarget target, PayloadBodyStream body, long? contentLength, UploadAdmission? admission, UploadProgress progress, CancellationToken cancellationToken)
    {
        var options = api.Value;
        var topic = ingest.Value.Topic;
        var envelope = new PayloadEnvelope(
            target.ProjectId, target.SessionId, target.Seq, target.ContentType, PayloadCodec.Name, time.GetUtcNow(), PayloadIds.Next(), 0, 0);
        var key = envelope.Key;
        var ledger = backlog.For(key);
        if (ledger is not null && backlog.Limit is { } limit && ledger.IsStalled(limit, options.BacklogAdmitTimeout))
        {
            // The workers store nothing from this partition: refuse before reading anything; the client retries later.
            return UploadFailure.BacklogFull(ledger.View(limit), limit);
        }

        using var activity = PublishTelemetry.Start(topic, envelope);
        var reader = new ChunkReader(
            body, budget.For(target.ProjectId), admission, options.ChunkBytes, options.BudgetWaitTimeout, body.Coding == ContentCoding.Identity ? contentLength : null, time);
        var chunks = new ChunkSequenceWriter(envelope);
        var pending = new Queue<(int Index, Task<DeliveryResult<byte[], byte[]>> Delivery)>();
        Chunk? current = null;
        try
        {
            for (var index = 0; ; index++)
            {
                current = await reader.ReadAsync(cancellationToken);
                var last = current.AtEnd;
                if (last)
                {
                    // No last chunk behind a chunk that might still fail: a consumer must never see a gap completed.
                    while (pending.Count > 0)
                    {
                        await AwaitAsync(pending.Dequeue(), activity, cancellationToken);
                    }
                }

                envelope = chunks.Next(current.Data, last);
                var message = ChunkMessage.Encode(key, envelope, current, activity);
                var size = ChunkMessage.SizeOf(message);
                ledger ??= backlog.For(key); // the guard may have come on since the upload started
                if (ledger is not null)
                {
                    await ReserveAsync(ledger, size, firstChunk: index == 0, cancellationToken);
                }

                pending.Enqueue((index, Send(topic, message, size, current, ledger, cancellationToken)));
                (progress.LastProduced, progress.LastChunkProduced) = (envelope, last);
                current = null;
                if (last)
                {
                    var report = await AwaitAsync(pending.Dequeue(), activity, cancellationToken);
                    PublishTelemetry.Delivered(activity, report, index + 1, envelope.Length);
                    return new PublishResult.Delivered(envelope.Length, index + 1, report.Partition.Value, report.Offset.Value);
                }

                while (pending.Count >= options.ChunksInFlight)
                {
                    await AwaitAsync(pending.Dequeue(), activity, cancellationToken);
                }
            }
        }
        catch (UploadFailedException ex)
        {
            return Failed(activity, ex.Failure);
        }
        catch (OperationCanceledException)
        {
            // The request was aborted, or the shutdown deadline passed (the endpoint tells which).
            return Failed(activity, UploadFailure.Disconnected());
        }
        catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.MsgSizeTooLarge)
        {
            var failure = UploadFailure.MessageTooLarge(ex.DeliveryResult.Message.Value.Length, ex.Error.Reason);
            Log.ChunkTooLarge(logger, target.ProjectId, target.SessionId, target.Seq, ex.DeliveryResult.Message.Value.Length, ex.Error.Reason);
            return Failed(activity, failure);
        }
        catch (Exception ex) when (ex is KafkaException or TimeoutException or ObjectDisposedException)
        {
            var reason = ex is KafkaException kafka ? $"{kafka.Error.Code}: {kafka.Error.Reason}" : ex.Message;
            Log.ProduceFailed(logger, target.ProjectId, target.SessionId, target.Seq, reason);
            return Failed(activity, UploadFailure.BrokerUnavailable(reason, ex is KafkaException k ? k.Error.Code.ToString() : ex.GetType().Name));
        }
        finally
        {
            current?.Discard();
        }
    }

    /// <summary>
    /// Room for one message in its partition's backlog, waiting for the workers to make it: a new payload's first chunk at
    /// most <c>Api:BacklogAdmitTimeout</c> (then 503 <c>backlog-full</c>, nothing of it produced), a later chunk of an upload
    /// in progress at most <c>Api:BacklogWaitTimeout</c> (then 503 <c>backlog-timeout</c>, its last chunk never produced).
    /// </summary>
    private async Task ReserveAsync(PartitionLedger ledger, long size, bool firstChunk, CancellationToken cancellationToken)
    {
        var wait = firstChunk ? api.Value.BacklogAdmitTimeout : api.Value.BacklogWaitTimeout;
        using var timeout = new CancellationTokenSource(wait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await ledger.ReserveAsync(size, () => backlog.Limit, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var limit = backlog.Limit ?? new BacklogLimit(0, 0, 0);
            throw new UploadFailedException(
                firstChunk ? UploadFailure.BacklogFull(ledger.View(limit), limit) : UploadFailure.BacklogTimeout(ledger.View(limit), limit, wait));
        }
    }

    private Task<DeliveryResult<byte[], byte[]>> Send(
        string topic, Message<byte[], byte[]> message, long size, Chunk chunk, PartitionLedger? ledger, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        Task<DeliveryResult<byte[], byte[]>> delivery;
        try
        {
            delivery = producer.ProduceAsync(topic, message, cancellationToken);
        }
        catch
        {
            chunk.ReleaseBudget();
            ledger?.Failed(size, backlog.Limit);
            throw;
        }

        // Budget is "read and not yet acknowledged": it comes back when Kafka answers, whoever still waits.
        _ = delivery.ContinueWith(
            (task, state) =>
            {
                chunk.ReleaseBudget();
                metrics.Produced(time.GetElapsedTime((long)state!), task.IsCompletedSuccessfully ? "delivered" : "failed");
                if (task.IsCompletedSuccessfully)
                {
                    ledger?.Delivered(task.Result.Offset.Value, size);
                }
                else
                {
                    ledger?.Failed(size, backlog.Limit);
                }

                _ = task.Exception; // observed: the request reports it, or has gone
            },
            started,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return delivery;
    }

    private static UploadFailure Failed(Activity? activity, UploadFailure failure)
    {
        PublishTelemetry.Failed(activity, failure.ErrorType);
        return failure;
    }

    private async Task<DeliveryResult<byte[], byte[]>> AwaitAsync(
        (int Index, Task<DeliveryResult<byte[], byte[]>> Delivery) pending, Activity? activity, CancellationToken cancellationToken)
    {
        var report = await pending.Delivery.WaitAsync(api.Value.DeliveryTimeout + ReportGrace, cancellationToken);
        PublishTelemetry.ChunkAcknowledged(activity, pending.Index, report);
        return report;
    }

    /// <summary>How far an upload got: the envelope of its latest chunk handed to the producer, and whether that was the last.</summary>
    private sealed class UploadProgress
    {
        public PayloadEnvelope? LastProduced { get; set; }

        /// <summary>The last chunk went to the producer: it may be in the log whatever the answer, so no abort marker follows it.</summary>
        public bool LastChunkProduced { get; set; }
    }
}
