namespace Ingest.Benchmarks;

/// <summary>The expiry scenario's timings: a full run's, or a smoke run's (seconds; T not on a partition boundary, the drop not awaited).</summary>
/// <param name="OnBoundary">T is a partition boundary (the upper bound of the partition holding the rows) and the drop is awaited.</param>
/// <param name="CheckInterval">The worker's <c>Ingest:Lifecycle:CheckInterval</c>.</param>
/// <param name="Baseline">The shortest baseline window before T (what the estimate leaves over is baseline too).</param>
/// <param name="Margin">Added to the fill's estimate.</param>
/// <param name="Segment">Length of one paced load-generator run.</param>
/// <param name="Poll">How often the rows and partitions are looked for from T on.</param>
/// <param name="Tail">Load kept on after the expiry is over.</param>
/// <param name="Deadline">How long after T the expiry may take before the run gives up waiting.</param>
/// <param name="Warmup">The start of the paced load left out of the baseline.</param>
public sealed record ExpiryPace(
    bool OnBoundary, TimeSpan CheckInterval, TimeSpan Baseline, TimeSpan Margin, TimeSpan Segment, TimeSpan Poll, TimeSpan Tail,
    TimeSpan Deadline, TimeSpan Warmup)
{
    public static ExpiryPace Full { get; } = new(
        true, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5),
        TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(2));

    public static ExpiryPace Smoke { get; } = new(
        false, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1),
        TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(500));

    /// <summary>
    /// T for rows that may expire from <paramref name="earliest"/> on: the next partition boundary (partitions are aligned to
    /// the Unix epoch, as <c>ingest.ensure_partitions</c> makes them), or in a smoke run <paramref name="earliest"/> itself.
    /// </summary>
    public DateTimeOffset ExpiryAfter(DateTimeOffset earliest)
    {
        if (!OnBoundary)
        {
            return earliest;
        }

        var step = ExpiryScenario.PartitionInterval.Ticks;
        var since = (earliest - DateTimeOffset.UnixEpoch).Ticks;
        return DateTimeOffset.UnixEpoch + TimeSpan.FromTicks((since + step - 1) / step * step);
    }
}

/// <summary>
/// What was seen from T on, polling every <see cref="ExpiryPace.Poll"/>: the sizes at T, when the rows were gone (and the sizes
/// then, if their partitions still existed), when their partitions were gone, the sizes after, and when it was over.
/// </summary>
public sealed record ExpiryWatch(
    TableSizes AtT, DateTimeOffset? RowsGone, TableSizes? AtRowsGone, DateTimeOffset? Dropped, TableSizes After, DateTimeOffset End)
{
    public static async Task<ExpiryWatch> RunAsync(
        ExpiryFill fill, IReadOnlyList<string> partitions, DateTimeOffset t, ExpiryPace pace, CancellationToken cancellationToken)
    {
        if (t - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken); // the harness's clock: the measured window starts at T
        }

        var atT = await fill.SizesAsync(partitions, cancellationToken);
        DateTimeOffset? gone = null, dropped = null;
        TableSizes? atGone = null;
        var deadline = t + pace.Deadline;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var now = DateTimeOffset.UtcNow;
            var (rowsLeft, partitionsLeft) = await fill.RemainingAsync(partitions, cancellationToken);
            if (!rowsLeft && gone is null)
            {
                gone = now;
                atGone = partitionsLeft > 0 ? await fill.SizesAsync(partitions, cancellationToken) : null;
            }

            if (partitionsLeft == 0 && dropped is null)
            {
                dropped = now;
            }

            if (gone is not null && (dropped is not null || !pace.OnBoundary))
            {
                break;
            }

            await Task.Delay(pace.Poll, cancellationToken); // polling a condition with a deadline
        }

        var finished = gone is not null && (dropped is not null || !pace.OnBoundary);
        var end = !finished ? DateTimeOffset.UtcNow : dropped > gone ? dropped!.Value : gone!.Value;
        return new ExpiryWatch(atT, gone, atGone, dropped, await fill.SizesAsync(partitions, cancellationToken), end);
    }
}
