using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Ingest.Benchmarks;

/// <summary>
/// What the in-process worker reports on its meter (<c>Ingest.Worker</c>) while a scenario runs: each payload stored on the
/// topic, when it was committed and how long after its receipt (<c>ingest.worker.end_to_end.latency</c>, recorded once the
/// batch's transaction has committed, so a wait inside the transaction or in its commit is in it — unlike <c>stored_at</c>,
/// the transaction's start); each maintenance pass (<c>ingest.worker.lifecycle.pass.duration</c>, <c>.removed</c>,
/// <c>.pass.failures</c>), which carry no topic: one worker runs at a time; and, as they end, the durations of
/// <see cref="Timed"/> on the topic: the worker's offset commits, fetch delays, waits for a shared transaction and
/// shared transactions, and the produce round trips of an API in the same process (any topic).
/// </summary>
public sealed class WorkerSamples : IDisposable
{
    /// <summary>From ProduceAsync to Kafka's acknowledgement, on an API in this process (<c>Ingest.Api</c>).</summary>
    public const string ProduceDuration = "ingest.api.produce.duration";

    /// <summary>One offset commit's round trip.</summary>
    public const string CommitDuration = "ingest.worker.commit.duration";

    /// <summary>A message's Kafka timestamp → the worker's poll returning it (recorded as it is polled).</summary>
    public const string FetchDelay = "ingest.worker.fetch.delay";

    /// <summary>A partition's batch waiting for a shared transaction (recorded as one takes it).</summary>
    public const string TransactionWait = "ingest.worker.transaction.wait";

    /// <summary>A shared transaction as the worker sees it: a connection, the statements, the commit acknowledged.</summary>
    public const string TransactionDuration = "ingest.worker.transaction.duration";

    /// <summary>The instruments whose durations are kept as they are recorded.</summary>
    public static readonly string[] Timed = [ProduceDuration, CommitDuration, FetchDelay, TransactionWait, TransactionDuration];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(DateTimeOffset Committed, double Ms)> _stored = new();
    private readonly ConcurrentQueue<(DateTimeOffset Ended, double Seconds)> _passes = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(DateTimeOffset Ended, double Ms)>> _timed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _removed = new(StringComparer.Ordinal);
    private long _failedPasses;

    public WorkerSamples(string topic)
    {
        string[] instruments =
            [
                "ingest.worker.end_to_end.latency", "ingest.worker.lifecycle.pass.duration", "ingest.worker.lifecycle.removed",
                "ingest.worker.lifecycle.pass.failures", .. Timed,
            ];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name is "Ingest.Worker" or "Ingest.Api" && instruments.Contains(instrument.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "ingest.worker.lifecycle.pass.duration")
            {
                _passes.Enqueue((DateTimeOffset.UtcNow, value));
            }
            else if (instrument.Name != ProduceDuration && Tag(tags, "messaging.destination.name") != topic)
            {
                return;
            }
            else if (instrument.Name == "ingest.worker.end_to_end.latency")
            {
                _stored.Enqueue((DateTimeOffset.UtcNow, value * 1000));
            }
            else
            {
                _timed.GetOrAdd(instrument.Name, _ => new()).Enqueue((DateTimeOffset.UtcNow, value * 1000));
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

    /// <summary>The durations of <paramref name="instrument"/> (one of <see cref="Timed"/>) recorded in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds.</summary>
    public Percentiles Durations(string instrument, DateTimeOffset from, DateTimeOffset to) =>
        Percentiles.Of([.. Ending(instrument, from, to).Select(t => t.Ms)]);

    /// <summary>The longest duration of <paramref name="instrument"/> recorded in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds (0 if none).</summary>
    public double LongestEnding(string instrument, DateTimeOffset from, DateTimeOffset to) =>
        Ending(instrument, from, to).Select(t => t.Ms).DefaultIfEmpty(0).Max();

    /// <summary>The longest duration of <paramref name="instrument"/> in flight at some time in [<paramref name="from"/>, <paramref name="to"/>], in milliseconds (0 if none).</summary>
    public double LongestInFlight(string instrument, DateTimeOffset from, DateTimeOffset to) =>
        Recorded(instrument).Where(t => t.Ended >= from && t.Ended.AddMilliseconds(-t.Ms) <= to).Select(t => t.Ms).DefaultIfEmpty(0).Max();

    public void Dispose() => _listener.Dispose();

    private IEnumerable<(DateTimeOffset Ended, double Ms)> Ending(string instrument, DateTimeOffset from, DateTimeOffset to) =>
        Recorded(instrument).Where(t => t.Ended >= from && t.Ended <= to);

    private IEnumerable<(DateTimeOffset Ended, double Ms)> Recorded(string instrument) =>
        _timed.TryGetValue(instrument, out var recorded) ? recorded : [];

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
