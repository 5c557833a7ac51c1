using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ingest.Storage.Payloads;

namespace Ingest.Worker.Telemetry;

/// <summary>
/// The worker's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>Ingest.Worker</c>.
/// </summary>
/// <remarks>
/// The meter is a plain <see cref="Meter"/>, not one from <c>IMeterFactory</c>, and it is never disposed.
/// Both choices come from running many worker hosts in one test process: through the factory path
/// (Microsoft.Extensions.Diagnostics → OpenTelemetry's IMetricsListener) a host now and then exported
/// none of its factory meters; and with plain meters, OpenTelemetry folds same-named instruments of all
/// hosts into one stream, which went silent when another host disposed its meter. One worker per process
/// in production is unaffected either way; every instrument carries its topic, so hosts sharing a
/// process (tests) stay apart.
/// </remarks>
public sealed class WorkerTelemetry
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "Ingest.Worker";

    /// <summary>Spans: <c>{topic} process</c> per payload, child of the API's <c>traceparent</c>.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>
    /// Seconds. Without advice OpenTelemetry buckets a histogram at 0, 5, 10, 25 … 10,000 (the specification's default,
    /// meant for milliseconds): a batch, a commit or a typical end-to-end latency would all fall in the first bucket.
    /// </summary>
    private static readonly double[] StepBuckets = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Seconds: milliseconds when the worker keeps up, up to hours while it drains a backlog.</summary>
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly ConcurrentDictionary<(string Topic, int Partition), long> _lag = new();
    private readonly ConcurrentDictionary<string, int> _paused = new();
    private readonly Meter _meter = new(Name);
    private readonly Counter<long> _stored;
    private readonly Counter<long> _storedBytes;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _chunks;
    private readonly Counter<long> _dataLoss;
    private readonly Counter<long> _abandoned;
    private readonly Counter<long> _aborted;
    private readonly Counter<long> _dropped;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<long> _batchSize;
    private readonly Histogram<double> _endToEnd;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<double> _fetchDelay;
    private readonly Histogram<double> _transactionWait;
    private readonly Histogram<double> _transactionDuration;

    public WorkerTelemetry()
    {
        var meter = _meter;
        _stored = meter.CreateCounter<long>("ingest.worker.payloads.stored", "{payload}", "Payloads stored as new rows.");
        _storedBytes = meter.CreateCounter<long>("ingest.worker.stored", "By", "Encoded payload bytes stored as new rows.");
        _duplicates = meter.CreateCounter<long>(
            "ingest.worker.duplicates", "{payload}", "Payloads already stored, by kind (redelivery, client_retry, conflicting).");
        _deadLettered = meter.CreateCounter<long>(
            "ingest.worker.dead_lettered", "{message}", "Messages sent to the dead-letter topic, by reason.");
        _chunks = meter.CreateCounter<long>(
            "ingest.worker.chunks.staged", "{chunk}", "Chunks of chunked payloads staged (the payload is stored at its last chunk).");
        _dataLoss = meter.CreateCounter<long>(
            "ingest.worker.data_loss", "{event}", "Accepted data that can no longer be stored, by kind (missing_chunk, offset_out_of_range).");
        _abandoned = meter.CreateCounter<long>(
            "ingest.worker.uploads.abandoned", "{upload}", "Chunked uploads discarded without their last chunk (by log time).");
        _aborted = meter.CreateCounter<long>(
            "ingest.worker.uploads.aborted", "{upload}", "Chunked uploads whose staged chunks were dropped on their abort marker (the API gave them up).");
        _dropped = meter.CreateCounter<long>(
            "ingest.worker.payloads.dropped", "{message}",
            "Messages not stored by rule, by reason: expired (received longer ago than the project's retention) or erased (session or project erased).");
        _batchSize = meter.CreateHistogram<long>("ingest.worker.batch.size", "{message}", "Messages per stored batch.");
        _batchDuration = meter.CreateHistogram<double>(
            "ingest.worker.batch.duration", "s", "Time to store (and dead-letter) one batch of a partition.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _endToEnd = meter.CreateHistogram<double>(
            "ingest.worker.end_to_end.latency", "s", "Stored minus received-by-API time of each new row.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _commitDuration = meter.CreateHistogram<double>(
            "ingest.worker.commit.duration", "s",
            "Time of one offset commit to the group coordinator, by outcome (committed, failed); the poll loop waits for it.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _fetchDelay = meter.CreateHistogram<double>(
            "ingest.worker.fetch.delay", "s",
            "From a message's Kafka timestamp (set by the API's producer as it produced) to the worker's poll returning it: " +
            "the broker and the fetch when the worker keeps up, the backlog's age when it does not.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _transactionWait = meter.CreateHistogram<double>(
            "ingest.worker.transaction.wait", "s",
            "How long a partition's batch waited for a shared transaction to take it (Worker:MaxConcurrentTransactions run at once).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _transactionDuration = meter.CreateHistogram<double>(
            "ingest.worker.transaction.duration", "s",
            "One shared transaction as the worker sees it: a connection from the pool, the statements, and the commit until " +
            "Postgres acknowledges it (its WAL flushed), retries included.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        meter.CreateObservableGauge(
            "ingest.worker.partitions.paused",
            () => _paused.Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>("messaging.destination.name", p.Key))),
            "{partition}", "Assigned partitions paused (lane full or database unavailable).");
        meter.CreateObservableGauge(
            "ingest.worker.consumer.lag", ObserveLag, "{message}", "High watermark minus consumer position, per assigned partition.");
    }

    /// <summary>Records one payload's outcome.</summary>
    public void Stored(StoreOutcome outcome, string topic, long bytes, TimeSpan endToEnd)
    {
        var tag = new KeyValuePair<string, object?>("messaging.destination.name", topic);
        if (outcome == StoreOutcome.ChunkStaged)
        {
            _chunks.Add(1, tag);
            return;
        }

        if (outcome is StoreOutcome.DataLoss or StoreOutcome.Poison or StoreOutcome.AbortIgnored)
        {
            return; // counted by DataLoss and DeadLettered; an ignored abort marker is nothing
        }

        if (outcome == StoreOutcome.Aborted)
        {
            _aborted.Add(1, tag);
            return;
        }

        if (outcome is StoreOutcome.Expired or StoreOutcome.Erased)
        {
            _dropped.Add(1, tag, new("reason", outcome == StoreOutcome.Expired ? "expired" : "erased"));
            return;
        }

        if (outcome == StoreOutcome.Stored)
        {
            _stored.Add(1, tag);
            _storedBytes.Add(bytes, tag);
            _endToEnd.Record(Math.Max(0, endToEnd.TotalSeconds), tag);
            return;
        }

        _duplicates.Add(1, tag, new("kind", outcome switch
        {
            StoreOutcome.Redelivery or StoreOutcome.ChunkRedelivery => "redelivery",
            StoreOutcome.ClientRetry => "client_retry",
            _ => "conflicting",
        }));
    }

    /// <summary>Records a dead-lettered message; <paramref name="reason"/> is <c>envelope</c> or <c>data</c>.</summary>
    public void DeadLettered(string topic, string reason) =>
        _deadLettered.Add(1, new("messaging.destination.name", topic), new("reason", reason));

    /// <summary>Records a batch's size and how long it took.</summary>
    public void BatchCompleted(string topic, int messages, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("messaging.destination.name", topic);
        _batchSize.Record(messages, tag);
        _batchDuration.Record(duration.TotalSeconds, tag);
    }

    /// <summary>Records how long a partition's batch waited for a shared transaction to take it.</summary>
    public void TransactionWaited(string topic, TimeSpan wait) =>
        _transactionWait.Record(wait.TotalSeconds, new KeyValuePair<string, object?>("messaging.destination.name", topic));

    /// <summary>Records one shared transaction's duration as the worker saw it.</summary>
    public void TransactionStored(string topic, TimeSpan duration) =>
        _transactionDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("messaging.destination.name", topic));

    /// <summary>Records how long after its Kafka timestamp a message reached the worker's poll loop.</summary>
    public void Fetched(string topic, TimeSpan delay) =>
        _fetchDelay.Record(Math.Max(0, delay.TotalSeconds), new KeyValuePair<string, object?>("messaging.destination.name", topic));

    /// <summary>Records one offset commit's round trip; <paramref name="committed"/> is false when it failed (in whole or in part).</summary>
    public void CommitCompleted(string topic, bool committed, TimeSpan duration) =>
        _commitDuration.Record(
            duration.TotalSeconds, new("messaging.destination.name", topic), new("outcome", committed ? "committed" : "failed"));

    /// <summary>Records accepted data that can no longer be stored (never silent).</summary>
    public void DataLoss(string topic, string kind) => _dataLoss.Add(1, new("messaging.destination.name", topic), new("kind", kind));

    /// <summary>Records an upload discarded without its last chunk.</summary>
    public void Abandoned(string topic) => _abandoned.Add(1, new KeyValuePair<string, object?>("messaging.destination.name", topic));

    /// <summary>Sets how many of the topic's assigned partitions are paused.</summary>
    public void SetPausedPartitions(string topic, int count) => _paused[topic] = count;

    /// <summary>Sets the lag of an assigned partition.</summary>
    public void SetLag(string topic, int partition, long lag) => _lag[(topic, partition)] = lag;

    /// <summary>Forgets a partition that is no longer assigned.</summary>
    public void RemoveLag(string topic, int partition) => _lag.TryRemove((topic, partition), out _);

    private IEnumerable<Measurement<long>> ObserveLag()
    {
        foreach (var ((topic, partition), lag) in _lag)
        {
            yield return new Measurement<long>(
                lag, new("messaging.destination.name", topic), new("messaging.destination.partition.id", partition));
        }
    }
}
