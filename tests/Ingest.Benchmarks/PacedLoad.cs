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
