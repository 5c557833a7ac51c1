using System.Globalization;
using Ingest.Testing;

namespace Ingest.Benchmarks;

/// <summary>One run of the expiry scenario: its settings, timings, what the watch saw and the latencies either side of T.</summary>
public sealed record ExpiryRun(
    bool Sweep, long Rows, long Sessions, ExpiryBlock Block, double MaxRate, double Rate, TimeSpan Filled, TimeSpan Settled,
    DateTimeOffset T, IReadOnlyList<string> Partitions, DateTimeOffset LoadStart, ExpiryWatch Watch, string Load,
    Percentiles Before, Percentiles During, Percentiles CommittedBefore, Percentiles CommittedDuring, (int Count, double Longest) Passes,
    long FailedPasses, long Removed)
{
    public string Name => string.Create(CultureInfo.InvariantCulture, $"expiry of {Rows:N0} rows, SweepExpiredRows={(Sweep ? "true" : "false")}");

    public double Seconds(DateTimeOffset? at) => at is { } a ? (a - T).TotalSeconds : double.NaN;

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"  {Name}: fill {Filled.TotalSeconds:0.0} s (+ {Settled.TotalSeconds:0.0} s vacuum, checkpoint), at {Rate:0}/s e2e p99 before {Before.P99:0.0} ms, during {During.P99:0.0} ms (committed {CommittedBefore.P99:0.0} / {CommittedDuring.P99:0.0} ms); T → rows gone {Seconds(Watch.RowsGone):0.0} s, → dropped {Seconds(Watch.Dropped):0.0} s; payloads {Watch.AtT.Payloads / 1e6:0} MB → {Watch.After.Payloads / 1e6:0} MB");
}

/// <summary>
/// The expiry scenario's rows of the report: per run four latency rows (before T and during the expiry, as received_at →
/// stored_at and as received → committed) and absolute rows for the fill, the times to expire and the table sizes.
/// </summary>
public sealed class ExpiryReport(BenchOptions options)
{
    private readonly List<ExpiryRun> _runs = [];

    public void Add(ExpiryRun run) => _runs.Add(run);

    public IEnumerable<LatencyMeasurement> Latencies => _runs.SelectMany(run => new[]
    {
        Latency(run, "e2e before T (no expiry)", run.Before, string.Create(CultureInfo.InvariantCulture,
            $"received_at → stored_at as the row above; 10 KB paced at {run.Rate:0}/s (half the max {run.MaxRate:0}/s, measured as the latency row does at the start of the first run); received from load start + {Pace.Warmup.TotalSeconds:0.#} s and stored before the first row expired (T − 1 s): a {(run.T.AddSeconds(-1) - run.LoadStart - Pace.Warmup).TotalSeconds:0} s window")),
        Latency(run, "e2e during expiry", run.During, string.Create(CultureInfo.InvariantCulture,
            $"received_at → stored_at; stored from T − 1 s on and received until the expiry was over (T + {(run.Watch.End - run.T).TotalSeconds:0.0} s); load: {run.Load}")),
        Latency(run, "received → committed before T", run.CommittedBefore,
            "the in-process worker's ingest.worker.end_to_end.latency, recorded after the batch's commit (stored_at is the transaction's start); same window as e2e before T"),
        Latency(run, "received → committed during expiry", run.CommittedDuring, "as above; same window as e2e during expiry"),
    });

    public IEnumerable<AbsoluteMeasurement> Absolutes => _runs.SelectMany(Rows);

    public IEnumerable<string> Notes =>
    [
        string.Create(CultureInfo.InvariantCulture,
            $"Expiry ({(options.Smoke ? "smoke" : "full")}): each run on a fresh database, worker and API; worker settings Ingest:Lifecycle:CheckInterval={Pace.CheckInterval:c}, PartitionInterval={ExpiryScenario.PartitionInterval:c}, DefaultRetention={ExpiryScenario.DefaultRetention:c} (≈ 33 partitions per table, as many as 30 days of 1-day partitions), Ingest:Projects:{ExpiryFill.Project}:Retention={ExpiryScenario.ProjectRetention:c}; {(options.Smoke ? "SweepExpiredRows=true only" : "SweepExpiredRows true in one run, false in the other")}."),
        $"The {options.ExpiryRows:N0} rows of project `{ExpiryFill.Project}` are written in SQL (INSERT … SELECT FROM generate_series into the partitions ingest.ensure_partitions made, and their ingest.sessions rows), then vacuumed and checkpointed, as rows stored long ago would be. Row i of N expires at T − 1 s + ⌊i · 10⁶ / N⌋ µs: all in the second before T. "
            + (Pace.OnBoundary
                ? "T is a partition boundary, the upper bound of the 1-minute partition [T − 1 min, T) that holds them (and nothing else: the paced traffic expires 30 minutes after receipt), so in both runs removal can start at T: with SweepExpiredRows=true the first maintenance pass from T − 1 s on deletes the rows (5,000 a statement) and drops the partition once its range has passed; with false the first pass from T on drops the partition with the rows in it. "
                : "Smoke: T is not a partition boundary and the drop is not awaited (a partition is at least a minute). ")
            + "All rows expiring in one second is a burst, the worst case: steady traffic expires a little every pass.",
        string.Create(CultureInfo.InvariantCulture,
            $"Windows: the paced load runs from after the fill until {Pace.Tail.TotalSeconds:0} s after the expiry is over (rows gone and partition dropped), in the same run, with the same payloads and rate as the baseline. Before T = received after a {Pace.Warmup.TotalSeconds:0.#} s warm-up and stored before the first row expired (T − 1 s); during = stored from T − 1 s on and received before the expiry was over. Times are from T, polled every {Pace.Poll.TotalSeconds:0.0} s; sizes are the sum of pg_total_relation_size (heap, TOAST, indexes) over the partitions of ingest.payloads."),
    ];

    private ExpiryPace Pace => options.Smoke ? ExpiryPace.Smoke : ExpiryPace.Full;

    private static LatencyMeasurement Latency(ExpiryRun run, string what, Percentiles p, string detail) =>
        new($"{run.Name}: {what}", p.P50, p.P99, p.P999, p.Count,
            string.Create(CultureInfo.InvariantCulture, $"max {p.Max:0.0} ms; {detail}"));

    private IEnumerable<AbsoluteMeasurement> Rows(ExpiryRun run)
    {
        var w = run.Watch;
        var partitions = string.Join(", ", run.Partitions);
        yield return new AbsoluteMeasurement($"{run.Name}: fill", run.Filled.TotalSeconds, "s", null, string.Create(CultureInfo.InvariantCulture,
            $"{run.Rows / run.Filled.TotalSeconds:0} rows/s over {run.Sessions:N0} sessions, each row one {run.Block.Body.Length} B LZ4 block ({run.Block.Length} B of JSON), INSERT … SELECT FROM generate_series, {ExpiryFill.Slice:N0} rows a statement, and the sessions' rows; then VACUUM (ANALYZE) and CHECKPOINT {run.Settled.TotalSeconds:0.0} s"));
        var sweepLimit = run.Sweep ? Pace.CheckInterval : ExpiryScenario.PartitionInterval + Pace.CheckInterval;
        yield return new AbsoluteMeasurement($"{run.Name}: T → rows gone", run.Seconds(w.RowsGone), "s", sweepLimit.TotalSeconds,
            (w.RowsGone is null ? $"NOT gone {(w.End - run.T).TotalSeconds:0} s after T; " : "")
            + (run.Sweep
                ? "no row of the project left in ingest.payloads; README: expired rows are removed within CheckInterval"
                : "no row of the project left in ingest.payloads: their partition detached; README: with SweepExpiredRows=false within PartitionInterval + CheckInterval")
            + string.Create(CultureInfo.InvariantCulture,
                $"; maintenance passes that ran from T − 1 s to the end: {run.Passes.Count}, the longest {run.Passes.Longest:0.0} s, {run.FailedPasses} failed; ingest.worker.lifecycle.removed{{project={ExpiryFill.Project}}} = {run.Removed:N0}"));
        yield return new AbsoluteMeasurement($"{run.Name}: ingest.payloads at T", w.AtT.Payloads / 1e6, "MB", null, string.Create(CultureInfo.InvariantCulture,
            $"of which {partitions}, holding the {run.Rows:N0} rows: {w.AtT.Partitions / 1e6:0} MB ({(double)w.AtT.Partitions / run.Rows:0} B a row with its index entries); database {w.AtT.Database / 1e6:0} MB"));
        if (!Pace.OnBoundary)
        {
            yield break;
        }

        yield return new AbsoluteMeasurement($"{run.Name}: T → partition dropped", run.Seconds(w.Dropped), "s",
            (ExpiryScenario.PartitionInterval + Pace.CheckInterval).TotalSeconds,
            (w.Dropped is null ? $"NOT dropped {(w.End - run.T).TotalSeconds:0} s after T; " : "")
            + $"{partitions} gone from the catalog (detached, then dropped); README: a partition is dropped within PartitionInterval + CheckInterval of its last expiry");
        var grown = (w.After.Payloads - w.After.Partitions - (w.AtT.Payloads - w.AtT.Partitions)) / 1e6;
        yield return new AbsoluteMeasurement($"{run.Name}: ingest.payloads after the drop", w.After.Payloads / 1e6, "MB", null, string.Create(CultureInfo.InvariantCulture,
            $"{partitions}: {w.After.Partitions / 1e6:0} MB (was {w.AtT.Partitions / 1e6:0} MB); the other partitions grew by {grown:0} MB with the paced traffic from T to the drop; database {w.After.Database / 1e6:0} MB (was {w.AtT.Database / 1e6:0} MB)")
            + (w.AtRowsGone is { } g
                ? string.Create(CultureInfo.InvariantCulture, $"; when no row was left in ingest.payloads and the partition not yet dropped, it still took {g.Partitions / 1e6:0} MB")
                : ""));
    }
}
