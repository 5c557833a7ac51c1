using System.Globalization;
using Npgsql;

namespace Ingest.Benchmarks;

/// <summary>
/// Issue 17, "storage that stays bounded": a few million stored rows expire while the API ingests 10 KB payloads at half
/// its maximum rate. Each run has a fresh database and worker; the rows are written in SQL (<see cref="ExpiryFill"/>), all
/// expiring in the second before T, T the upper bound of the partition holding them; the paced load runs from after the
/// fill until the rows are gone and their partition dropped. Run twice, with <c>SweepExpiredRows</c> true (the default: the
/// rows deleted, then the emptied partition dropped) and false (the partition dropped with the rows in it). See
/// <see cref="ExpiryReport"/> for what is reported.
/// </summary>
public static class ExpiryScenario
{
    public static readonly TimeSpan PartitionInterval = TimeSpan.FromMinutes(1);

    /// <summary>Of the paced traffic (project <c>bench</c>): 30 minutes of 1-minute partitions, as many as 30 days of 1-day ones.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromMinutes(30);

    /// <summary>Of project <see cref="ExpiryFill.Project"/>: the pre-filled rows were received this long before they expire.</summary>
    public static readonly TimeSpan ProjectRetention = TimeSpan.FromMinutes(10);

    public static async Task<ExpiryReport> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var report = new ExpiryReport(options);
        var block = await ExpiryBlock.CreateAsync(cancellationToken);
        double? maxRate = null; // measured in the first run, kept for the second: both modes under the same load
        foreach (var sweep in options.Smoke ? [true] : new[] { true, false })
        {
            var run = await RunOnceAsync(stack, options, block, sweep, maxRate, log, cancellationToken);
            maxRate = run.MaxRate;
            report.Add(run);
        }

        return report;
    }

    private static async Task<ExpiryRun> RunOnceAsync(
        Stack stack, BenchOptions options, ExpiryBlock block, bool sweep, double? maxRate, TextWriter log, CancellationToken cancellationToken)
    {
        var pace = options.Smoke ? ExpiryPace.Smoke : ExpiryPace.Full;
        string[] settings = [
            $"--Ingest:Lifecycle:CheckInterval={pace.CheckInterval:c}", $"--Ingest:Lifecycle:PartitionInterval={PartitionInterval:c}",
            $"--Ingest:Lifecycle:DefaultRetention={DefaultRetention:c}", $"--Ingest:Projects:{ExpiryFill.Project}:Retention={ProjectRetention:c}",
            $"--Ingest:Lifecycle:SweepExpiredRows={(sweep ? "true" : "false")}"];
        var topic = await stack.TopicAsync("bench-expiry", cancellationToken);
        var database = await stack.DatabaseAsync(cancellationToken);
        try
        {
            using var samples = new WorkerSamples(topic);
            var worker = await stack.StartWorkerAsync(topic, database, cancellationToken, settings);
            await using (worker)
            {
                var api = await stack.StartApiAsync(topic, database, cancellationToken, workersStore: true, settings);
                await using (api)
                {
                    var run = await MeasureAsync(api, database, samples, block, sweep, maxRate, options, pace, log, cancellationToken);
                    await api.StopAsync(cancellationToken);
                    await worker.StopAsync(cancellationToken);
                    return run;
                }
            }
        }
        finally
        {
            await stack.DropDatabaseAsync(database, CancellationToken.None);
        }
    }

    private static async Task<ExpiryRun> MeasureAsync(
        WebApplication api, string database, WorkerSamples samples, ExpiryBlock block, bool sweep, double? knownMaxRate,
        BenchOptions options, ExpiryPace pace, TextWriter log, CancellationToken cancellationToken)
    {
        var rows = options.ExpiryRows;
        var sessions = Math.Max(1, rows / 300);
        using var client = new HttpClient { BaseAddress = Stack.Address(api) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", Stack.Key);
        var maxRate = knownMaxRate ?? (await LatencyScenario.MaxRateAsync(client, database, options, cancellationToken)).MaxRate;
        var rate = maxRate / 2;

        await using var source = NpgsqlDataSource.Create(database);
        var fill = new ExpiryFill(source, block, rows, sessions, ProjectRetention);
        var perRow = await fill.CalibrateAsync(Math.Clamp(rows / 50, 2_000, 60_000), cancellationToken);
        // 1.5 times the calibrated time (on 300,000 rows the fill and its settling took 0.4 of it): a large table may fill
        // slower than the small sample; what is left over becomes baseline.
        var estimate = TimeSpan.FromSeconds(perRow * rows * 1.5) + pace.Margin;
        var t = pace.ExpiryAfter(DateTimeOffset.UtcNow + estimate + pace.Baseline);
        var firstExpiry = t - TimeSpan.FromSeconds(1);
        await fill.EnsurePartitionsAsync(t + PartitionInterval, PartitionInterval, cancellationToken);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  expiry ({(sweep ? "sweep" : "drop only")}): max {maxRate:0}/s; filling {rows} rows (≈ {perRow * rows:0} s calibrated), T = {t:HH:mm:ss}"));
        var filled = await fill.FillAsync(t, cancellationToken);
        var partitions = await fill.PartitionsAsync(firstExpiry, t, cancellationToken);
        var settled = await fill.SettleAsync(partitions, cancellationToken);
        var loadStart = DateTimeOffset.UtcNow;
        if (firstExpiry - loadStart < pace.Baseline / 3)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"expiry: the fill of {rows} rows took {filled.TotalSeconds:0} s and settling {settled.TotalSeconds:0} s (estimated {estimate.TotalSeconds:0} s together): too late for a baseline before T; use fewer --expiry-rows"));
        }

        var load = new PacedLoad(client, rate, pace.Segment);
        using var stop = new CancellationTokenSource();
        var loading = load.RunAsync(stop.Token, cancellationToken);
        ExpiryWatch watch;
        try
        {
            watch = await ExpiryWatch.RunAsync(fill, partitions, t, pace, cancellationToken);
            await Task.Delay(pace.Tail, cancellationToken); // payloads received just before the end are in flight during it
        }
        finally
        {
            await stop.CancelAsync();
            await loading;
        }

        await WaitForStoredAsync(source, load.Accepted, cancellationToken);
        var warm = loadStart + pace.Warmup;
        var run = new ExpiryRun(
            sweep, rows, sessions, block, maxRate, rate, filled, settled, t, partitions, loadStart, watch, load.Summary(),
            Before: await StoredLatencyAsync(source, warm, firstExpiry, warm, firstExpiry, cancellationToken),
            During: await StoredLatencyAsync(source, warm, watch.End, firstExpiry, DateTimeOffset.MaxValue, cancellationToken),
            CommittedBefore: samples.Committed(warm, firstExpiry, warm, firstExpiry),
            CommittedDuring: samples.Committed(warm, watch.End, firstExpiry, DateTimeOffset.MaxValue),
            Passes: samples.Passes(firstExpiry, watch.End), FailedPasses: samples.FailedPasses,
            Removed: samples.Removed(ExpiryFill.Project, "expired"));
        await log.WriteLineAsync(run.Summary());
        return run;
    }

    /// <summary>received_at → stored_at of the paced payloads received in [from, to] and stored in [storedFrom, storedTo).</summary>
    private static async Task<Percentiles> StoredLatencyAsync(
        NpgsqlDataSource source, DateTimeOffset from, DateTimeOffset to, DateTimeOffset storedFrom, DateTimeOffset storedTo,
        CancellationToken cancellationToken)
    {
        await using var command = source.CreateCommand(
            """
            SELECT count(*),
                   percentile_cont(0.5)   WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.99)  WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.999) WITHIN GROUP (ORDER BY ms),
                   max(ms)::float8
            FROM (SELECT extract(epoch FROM stored_at - received_at) * 1000 AS ms FROM ingest.payloads
                  WHERE project = 'bench' AND session_id LIKE $5 AND received_at BETWEEN $1 AND $2
                    AND stored_at >= $3 AND stored_at < $4) AS t
            """);
        command.Parameters.Add(new() { Value = from });
        command.Parameters.Add(new() { Value = to });
        command.Parameters.Add(new() { Value = storedFrom });
        command.Parameters.Add(new() { Value = storedTo == DateTimeOffset.MaxValue ? DateTimeOffset.UtcNow.AddDays(1) : storedTo });
        command.Parameters.Add(new() { Value = PacedLoad.SessionPrefix + "%" });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        double At(int i) => reader.IsDBNull(i) ? double.NaN : reader.GetDouble(i);
        return new Percentiles(reader.GetInt64(0), At(1), At(2), At(3), At(4));
    }

    private static async Task WaitForStoredAsync(NpgsqlDataSource source, long accepted, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow.AddMinutes(2);
        await using var command = source.CreateCommand("SELECT count(*) FROM ingest.payloads WHERE project = 'bench' AND session_id LIKE $1");
        command.Parameters.Add(new() { Value = PacedLoad.SessionPrefix + "%" });
        long stored;
        while ((stored = (long)(await command.ExecuteScalarAsync(cancellationToken))!) < accepted)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"expiry: {stored} of the {accepted} accepted paced payloads stored after 2 minutes");
            }

            await Task.Delay(200, cancellationToken); // polling a condition with a deadline
        }
    }
}
