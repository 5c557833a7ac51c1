using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Ingest.Benchmarks;

/// <summary>
/// What the in-process worker reports on its meter (<c>Ingest.Worker</c>) while a scenario runs: each payload stored on the
/// topic, when it was committed and how long after its receipt (<c>ingest.worker.end_to_end.latency</c>, recorded once the
/// batch's transaction has committed, so a wait inside the transaction or in its commit is in it — unlike <c>stored_at</c>,
/// the transaction's start); and each maintenance pass (<c>ingest.worker.lifecycle.pass.duration</c>, <c>.removed</c>,
/// <c>.pass.failures</c>), which carry no topic: one worker runs at a time; and each offset commit on the topic
/// (<c>ingest.worker.commit.duration</c>), which the worker's poll loop waits for, each message's fetch delay
/// (<c>ingest.worker.fetch.delay</c>) and each batch's wait for a shared transaction (<c>ingest.worker.transaction.wait</c>); and the produce round trips of an API in
/// the same process (<c>ingest.api.produce.duration</c>, any topic).
/// </summary>
public sealed class WorkerSamples : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(DateTimeOffset Committed, double Ms)> _stored = new();
    private readonly ConcurrentQueue<(DateTimeOffset Ended, double Seconds)> _passes = new();
    private readonly ConcurrentQueue<(DateTimeOffset Ended, double Ms)> _commits = new();
    private readonly ConcurrentQueue<(DateTimeOffset Ended, double Ms)> _produces = new();
    private readonly ConcurrentQueue<(DateTimeOffset Polled, double Ms)> _fetches = new();
    private readonly ConcurrentQueue<(DateTimeOffset Taken, double Ms)> _transactionWaits = new();
    private readonly ConcurrentQueue<(DateTimeOffset Ended, double Ms)> _transactions = new();
    private readonly ConcurrentDictionary<string, long> _removed = new(StringComparer.Ordinal);
    private long _failedPasses;

    public WorkerSamples(string topic)
    {
        string[] instruments =
            [
                "ingest.worker.end_to_end.latency", "ingest.worker.commit.duration", "ingest.worker.fetch.delay", "ingest.worker.transaction.wait",
                "ingest.worker.transaction.duration",
                "ingest.worker.lifecycle.pass.duration", "ingest.worker.lifecycle.removed", "ingest.worker.lifecycle.pass.failures",
            ];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if ((instrument.Meter.Name == "Ingest.Worker" && instruments.Contains(instrument.Name))
                || (instrument.Meter.Name == "Ingest.Api" && instrument.Name == "ingest.api.produce.duration"))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "ingest.api.produce.duration")
            {
                _produces.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
            else if (instrument.Name == "ingest.worker.lifecycle.pass.duration")
            {
                _passes.Enqueue((DateTimeOffset.UtcNow, value));
            }
            else if (Tag(tags, "messaging.destination.name") != topic)
            {
                return;
            }
            else if (instrument.Name == "ingest.worker.commit.duration")
            {
                _commits.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
            else if (instrument.Name == "ingest.worker.fetch.delay")
            {
                _fetches.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
            else if (instrument.Name == "ingest.worker.transaction.wait")
            {
                _transactionWaits.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
            else if (instrument.Name == "ingest.worker.transaction.duration")
            {
                _transactions.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
            else
            {
                _stored.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
        });
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "ingest.worker.lifecycle.pass.failures")
            {
                Interlocked.Add(ref _failedPasses, value);
            }
            else if (Tag(tags, "project") is { } project)
            {
                _removed.AddOrUpdate($"{project}/{Tag(tags, "reason")}", value, (_, n) => n + value);
            }
        });
        _listener.Start();
    }

    public long FailedPasses => Interlocked.Read(ref _failedPasses);

    /// <summary>Payloads of <paramref name="project"/> removed for <paramref name="reason"/> (expired, erased) so far.</summary>
    public long Removed(string project, string reason) => _removed.GetValueOrDefault($"{project}/{reason}");

    /// <summary>Received → committed of the payloads received in [<paramref name="receivedFrom"/>, <paramref name="receivedTo"/>] and committed in [<paramref name="committedFrom"/>, <paramref name="committedTo"/>).</summary>
    public Percentiles Committed(DateTimeOffset receivedFrom, DateTimeOffset receivedTo, DateTimeOffset committedFrom, DateTimeOffset committedTo) =>
        Percentiles.Of([.. _stored
            .Where(s => s.Committed >= committedFrom && s.Committed < committedTo)
            .Where(s => s.Committed.AddMilliseconds(-s.Ms) is var received && received >= receivedFrom && received <= receivedTo)
            .Select(s => s.Ms)]);

    /// <summary>The maintenance passes that ran at some time in [<paramref name="from"/>, <paramref name="to"/>]: how many, and the longest in seconds.</summary>
    public (int Count, double Longest) Passes(DateTimeOffset from, DateTimeOffset to)
    {
        var passes = _passes.Where(p => p.Ended >= from && p.Ended.AddSeconds(-p.Seconds) <= to).Select(p => p.Seconds).ToList();
        return (passes.Count, passes.DefaultIfEmpty(0).Max());
    }

    /// <summary>The offset commits that ended in [<paramref name="from"/>, <paramref name="to"/>]: their durations in milliseconds.</summary>
    public Percentiles Commits(DateTimeOffset from, DateTimeOffset to) =>
        Percentiles.Of([.. _commits.Where(c => c.Ended >= from && c.Ended <= to).Select(c => c.Ms)]);

    /// <summary>The longest offset commit in flight at some time in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds (0 if none).</summary>
    public double LongestCommitDuring(DateTimeOffset from, DateTimeOffset to) =>
        _commits.Where(c => c.Ended >= from && c.Ended.AddMilliseconds(-c.Ms) <= to).Select(c => c.Ms).DefaultIfEmpty(0).Max();

    /// <summary>
    /// The longest produce (an API in this process: <c>ingest.api.produce.duration</c>, from ProduceAsync to Kafka's
    /// acknowledgement) that ended in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds (0 if none).
    /// </summary>
    public double LongestProduceEnding(DateTimeOffset from, DateTimeOffset to) =>
        _produces.Where(p => p.Ended >= from && p.Ended <= to).Select(p => p.Ms).DefaultIfEmpty(0).Max();

    /// <summary>
    /// The longest fetch delay (<c>ingest.worker.fetch.delay</c>: Kafka timestamp → the worker's poll returning the message)
    /// of the messages polled in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds (0 if none).
    /// </summary>
    public double LongestFetchDelay(DateTimeOffset from, DateTimeOffset to) =>
        _fetches.Where(f => f.Polled >= from && f.Polled <= to).Select(f => f.Ms).DefaultIfEmpty(0).Max();

    /// <summary>
    /// The longest wait of a partition's batch for a shared transaction (<c>ingest.worker.transaction.wait</c>) among the
    /// batches taken in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds (0 if none).
    /// </summary>
    public double LongestTransactionWait(DateTimeOffset from, DateTimeOffset to) =>
        _transactionWaits.Where(w => w.Taken >= from && w.Taken <= to).Select(w => w.Ms).DefaultIfEmpty(0).Max();

    /// <summary>
    /// The longest shared transaction as the worker saw it (<c>ingest.worker.transaction.duration</c>: pool, statements,
    /// commit acknowledged) in flight at some time in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds.
    /// </summary>
    public double LongestTransactionDuring(DateTimeOffset from, DateTimeOffset to) =>
        _transactions.Where(t => t.Ended >= from && t.Ended.AddMilliseconds(-t.Ms) <= to).Select(t => t.Ms).DefaultIfEmpty(0).Max();

    public void Dispose() => _listener.Dispose();

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}

/// <summary>Percentiles in milliseconds, interpolated as Postgres' <c>percentile_cont</c> does.</summary>
public sealed record Percentiles(long Count, double P50, double P99, double P999, double Max)
{
    public static Percentiles Of(double[] values)
    {
        Array.Sort(values);
        return values.Length == 0
            ? new Percentiles(0, double.NaN, double.NaN, double.NaN, double.NaN)
            : new Percentiles(values.Length, At(values, 0.5), At(values, 0.99), At(values, 0.999), values[^1]);
    }

    private static double At(double[] sorted, double fraction)
    {
        var rank = fraction * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }
}
