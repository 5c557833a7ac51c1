using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using HdrHistogram;
using Ingest.LoadGen;

namespace Ingest.Benchmarks;

/// <summary>
/// The load generator at a fixed rate (10 KB payloads, 64 sessions) until told to stop: runs of <c>segment</c> each, every
/// run on new sessions (prefix <c>x0000</c>, <c>x0001</c>, …), so it can stop when the expiry is over without cancelling
/// requests in flight.
/// </summary>
public sealed class PacedLoad(HttpClient client, double rate, TimeSpan segment)
{
    /// <summary>Prefix of the paced sessions' ids (the probe's are <c>probe-…</c>).</summary>
    public const string SessionPrefix = "x";

    private readonly List<LoadResult> _runs = [];

    public long Accepted => _runs.Sum(r => r.Accepted);

    public async Task RunAsync(CancellationToken stop, CancellationToken cancellationToken)
    {
        var perSession = Math.Max(1, (int)Math.Round(rate * segment.TotalSeconds / 64));
        for (var k = 0; !stop.IsCancellationRequested; k++)
        {
            var options = LatencyScenario.Options(
                LatencyScenario.Size, 64, perSession, rate, string.Create(CultureInfo.InvariantCulture, $"{SessionPrefix}{k:D4}"));
            _runs.Add(await new LoadRunner(options, client).RunAsync(null, cancellationToken));
        }
    }

    /// <summary>202 latency and anything not accepted, over all runs.</summary>
    public string Summary()
    {
        var latency = new LongHistogram(TimeSpan.FromMinutes(10).Ticks / 10, 3);
        foreach (var run in _runs)
        {
            latency.Add(run.Latency);
        }

        var refused = _runs.SelectMany(r => r.Refused).GroupBy(p => p.Key).Select(g => $"{g.Sum(p => p.Value)}× {g.Key}");
        var failed = _runs.SelectMany(r => r.Failures).GroupBy(p => p.Key).Select(g => $"{g.Sum(p => p.Value)}× {g.Key}");
        var notAccepted = string.Join(", ", refused.Concat(failed));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Accepted} accepted, 202 p99 {latency.GetValueAtPercentile(99) / 1000.0:0.0} ms, max {latency.GetMaxValue() / 1000.0:0.0} ms; not accepted: {(notAccepted.Length == 0 ? "none" : notAccepted)}");
    }
}

/// <summary>
/// Every payload the in-process worker stores on the topic: when it was committed and how long after its
/// receipt, from the worker's <c>ingest.worker.end_to_end.latency</c> (recorded once the batch's transaction has committed,
/// so a wait inside the transaction or in its commit is in it — unlike <c>stored_at</c>, the transaction's start).
/// </summary>
public sealed class CommitLatencies : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(DateTimeOffset Committed, double Ms)> _samples = new();

    public CommitLatencies(string topic)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument is { Name: "ingest.worker.end_to_end.latency", Meter.Name: "Ingest.Worker" })
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "messaging.destination.name", Value: string name } && name == topic)
                {
                    _samples.Enqueue((DateTimeOffset.UtcNow, seconds * 1000));
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Received → committed of the payloads received from <paramref name="receivedFrom"/> to <paramref name="receivedTo"/> and committed in [<paramref name="committedFrom"/>, <paramref name="committedTo"/>).</summary>
    public Percentiles Select(DateTimeOffset receivedFrom, DateTimeOffset receivedTo, DateTimeOffset committedFrom, DateTimeOffset committedTo) =>
        Percentiles.Of([.. _samples
            .Where(s => s.Committed >= committedFrom && s.Committed < committedTo)
            .Where(s => s.Committed.AddMilliseconds(-s.Ms) is var received && received >= receivedFrom && received <= receivedTo)
            .Select(s => s.Ms)]);

    public void Dispose() => _listener.Dispose();
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
