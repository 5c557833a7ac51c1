using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Ingest.LoadGen;
using Npgsql;

namespace Ingest.Benchmarks;

/// <summary>
/// End-to-end latency of 10 KB payloads at half the measured maximum rate: from the API receiving the
/// request (<c>received_at</c>) to the row committed in Postgres (its commit timestamp) — from then on it is
/// readable through the API. Both clocks are this machine's.
/// </summary>
public static class LatencyScenario
{
    public static async Task<(LatencyMeasurement Latency, Measurement Rate)> RunAsync(
        Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var topic = await stack.TopicAsync("bench-latency", cancellationToken);
        var database = await stack.DatabaseAsync(cancellationToken);
        await using var worker = await stack.StartWorkerAsync(topic, database, cancellationToken);
        await using var api = await stack.StartApiAsync(topic, database, cancellationToken, workersStore: true);
        using var client = new HttpClient { BaseAddress = Stack.Address(api) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", Stack.Key);
        var (max, maxRate) = await MaxRateAsync(client, database, options, cancellationToken);
        var half = maxRate / 2;
        var warmUp = await WarmUpAsync(client, half, options, cancellationToken);
        var total = (int)Math.Max(64, half * options.RateDuration.TotalSeconds * 2);
        var paced = Options(Size, sessions: 64, perSession: Math.Max(1, total / 64), rate: half, prefix: "half");
        using var samples = new WorkerSamples(topic);
        using var runtime = new RuntimeEvents();
        var pacedFrom = DateTimeOffset.UtcNow;
        var run = await new LoadRunner(paced, client).RunAsync(null, cancellationToken);
        await WaitForAsync(database, run.Accepted + max.Accepted + warmUp.Accepted, cancellationToken);
        var pacedTo = DateTimeOffset.UtcNow;
        // Stopped before they are disposed: a host disposed while running cancels its services as if they had failed.
        await api.StopAsync(cancellationToken);
        await worker.StopAsync(cancellationToken);

        await using var source = NpgsqlDataSource.Create(database);
        // The row's commit (readable from then on) when the server keeps commit timestamps (tests/pg.sh turns them on);
        // else stored_at, its transaction's start, which leaves the transaction's own time out.
        var committed = (string)(await source.CreateCommand("SHOW track_commit_timestamp").ExecuteScalarAsync(cancellationToken))! == "on";
        var end = committed ? "pg_xact_commit_timestamp(xmin)" : "stored_at";
        await using var reader = await source.CreateCommand(
            $"""
            SELECT count(*),
                   percentile_cont(0.5)   WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.99)  WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.999) WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.5)   WITHIN GROUP (ORDER BY to_store),
                   percentile_cont(0.99)  WITHIN GROUP (ORDER BY to_store),
                   percentile_cont(0.5)   WITHIN GROUP (ORDER BY in_store),
                   percentile_cont(0.99)  WITHIN GROUP (ORDER BY in_store)
            FROM (SELECT extract(epoch FROM {end} - received_at) * 1000 AS ms,
                         extract(epoch FROM stored_at - received_at) * 1000 AS to_store,
                         extract(epoch FROM {end} - stored_at) * 1000 AS in_store
                  FROM ingest.payloads WHERE session_id LIKE 'half-%') t
            """).ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var commits = samples.Durations(WorkerSamples.CommitDuration, pacedFrom, pacedTo);
        var stalls = await StallsAsync(source, committed ? "pg_xact_commit_timestamp(xmin)" : "stored_at", samples, runtime, pacedFrom, cancellationToken);
        var pauses = runtime.During(pacedFrom, pacedTo);
        var latency = new LatencyMeasurement(
            "end-to-end 10 KB at 50 % of max rate", reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetInt64(0),
            string.Create(CultureInfo.InvariantCulture,
                $"max {maxRate:0} payloads/s (64 sessions); paced at {half:0}/s after {warmUp}; 202 p99 {run.Percentile(99):0.0} ms; received_at → {(committed ? "commit" : "stored_at (transaction start)")}; " +
                $"of which received_at → the storing transaction's start p50 {reader.GetDouble(4):0.0} ms, p99 {reader.GetDouble(5):0.0} ms (the API, Kafka, the worker's queues), " +
                $"that start → {(committed ? "commit" : "stored_at")} p50 {reader.GetDouble(6):0.0} ms, p99 {reader.GetDouble(7):0.0} ms (the transaction); " +
                $"the worker's offset commits meanwhile: {commits.Count}, p50 {commits.P50:0.0} ms, p99 {commits.P99:0.0} ms, max {commits.Max:0.0} ms; this process's GC pauses meanwhile: {pauses.Count} ({pauses.Gen2} gen2), {pauses.TotalMs:0} ms in all, the longest {pauses.LongestMs:0.0} ms; thread-pool starvation {runtime.Starvations(pacedFrom, pacedTo)}; {stalls}"));
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  latency  max {maxRate:0}/s, at {half:0}/s after {warmUp.Elapsed.TotalSeconds:0} s of warm-up: p50 {latency.P50:0.0} ms p99 {latency.P99:0.0} ms p99.9 {latency.P999:0.0} ms; p99 to the transaction {reader.GetDouble(5):0.0} ms, in it {reader.GetDouble(7):0.0} ms; 202 p99 {run.Percentile(99):0.0} ms"));
        var rate = new Measurement("API ingest 10 KB (loadgen, 64 sessions)", "payloads/s", maxRate, 0, "reference (no baseline)", null,
            string.Create(CultureInfo.InvariantCulture, $"202 p50 {max.Percentile(50):0.0} ms, p99 {max.Percentile(99):0.0} ms, worker running"));
        return (latency, rate);
    }

    /// <summary>
    /// Where the tail comes from: the paced payloads slower than <see cref="StallMs"/>, grouped into episodes (payloads
    /// received less than a second apart), each with when it began, how many payloads it held, its worst latency, and the
    /// longest offset commit the worker had in flight from its first payload's receipt to its worst one's commit, and the
    /// maintenance passes, GC pauses and thread-pool starvation of that time.
    /// </summary>
    private static async Task<string> StallsAsync(
        NpgsqlDataSource source, string end, WorkerSamples samples, RuntimeEvents runtime, DateTimeOffset pacedFrom, CancellationToken cancellationToken)
    {
        var slow = new List<(DateTime Received, double Ms)>();
        await using (var reader = await source.CreateCommand(
            $"""
            SELECT received_at, extract(epoch FROM {end} - received_at) * 1000 FROM ingest.payloads
            WHERE session_id LIKE 'half-%' AND {end} - received_at > interval '{StallMs} milliseconds' ORDER BY received_at
            """).ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                slow.Add((reader.GetDateTime(0), reader.GetDouble(1)));
            }
        }

        var episodes = new List<List<(DateTime Received, double Ms)>>();
        foreach (var payload in slow)
        {
            if (episodes.Count == 0 || payload.Received - episodes[^1][^1].Received > TimeSpan.FromSeconds(1))
            {
                episodes.Add([]);
            }

            episodes[^1].Add(payload);
        }

        var described = new List<string>();
        foreach (var e in episodes.Take(6))
        {
            var first = new DateTimeOffset(DateTime.SpecifyKind(e[0].Received, DateTimeKind.Utc));
            var worst = e.MaxBy(p => p.Ms);
            var worstReceived = new DateTimeOffset(DateTime.SpecifyKind(worst.Received, DateTimeKind.Utc));
            var until = worstReceived.AddMilliseconds(worst.Ms);
            var pass = samples.Passes(first, until);
            var pauses = runtime.During(first, until);
            // The storing transactions that ended meanwhile (any session's): the longest from its start to its commit.
            await using var longest = source.CreateCommand(
                $"SELECT coalesce(max(extract(epoch FROM {end} - stored_at) * 1000), 0), count(*) FROM ingest.payloads WHERE {end} BETWEEN $1 AND $2");
            longest.Parameters.AddWithValue(first);
            longest.Parameters.AddWithValue(until);
            await using var row = await longest.ExecuteReaderAsync(cancellationToken);
            await row.ReadAsync(cancellationToken);
            described.Add(string.Create(CultureInfo.InvariantCulture,
                $"at +{(first - pacedFrom).TotalSeconds:0.0} s {e.Count} payloads, worst {worst.Ms:0} ms; meanwhile {row.GetInt64(1)} rows committed, the longest transaction {row.GetDouble(0):0} ms (start → commit timestamp; " +
                $"{samples.LongestInFlight(WorkerSamples.TransactionDuration, first, until):0} ms as the worker saw it, from taking a connection to the commit's acknowledgement), " +
                $"the longest produce acknowledged {samples.LongestEnding(WorkerSamples.ProduceDuration, first, worstReceived.AddMilliseconds(100)):0} ms, " +
                $"the longest fetch delay (Kafka timestamp → the worker's poll) {samples.LongestEnding(WorkerSamples.FetchDelay, first, until):0} ms, " +
                $"the longest wait of a batch for a shared transaction {samples.LongestEnding(WorkerSamples.TransactionWait, first, until):0} ms, the longest offset commit {samples.LongestInFlight(WorkerSamples.CommitDuration, first, until):0} ms, maintenance passes {pass.Count} (longest {pass.Longest * 1000:0} ms), " +
                $"GC pauses {pauses.Count} ({pauses.Gen2} gen2, {pauses.TotalMs:0} ms), thread-pool starvation {runtime.Starvations(first.AddSeconds(-1), until)}"));
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"payloads over {StallMs} ms: {slow.Count}, in {episodes.Count} episode(s){(episodes.Count == 0 ? "" : ": ")}{string.Join("; ", described)}");
    }

    /// <summary>A paced payload slower than this (ms) is part of a stall (the target's p99 is 50 ms).</summary>
    private const int StallMs = 100;

    /// <summary>The payloads of the latency measurements: 10 KB of recording-like JSON.</summary>
    public static SizeSpec Size { get; } = SizeSpec.TryParse("10KB", long.MaxValue, out var size, out _) ? size! : throw new InvalidOperationException("10KB");

    /// <summary>
    /// The maximum rate: 64 sessions posting 10 KB payloads as fast as they are answered, the worker storing them; returns
    /// once they are all stored (the probe outruns the worker on purpose, and a paced run after it must not measure its backlog).
    /// </summary>
    public static async Task<(LoadResult Probe, double MaxRate)> MaxRateAsync(
        HttpClient client, string database, BenchOptions options, CancellationToken cancellationToken)
    {
        var probe = Options(Size, sessions: 64, perSession: options.Smoke ? 5 : 60, rate: 0, prefix: "probe");
        var max = await new LoadRunner(probe, client).RunAsync(null, cancellationToken);
        await WaitForAsync(database, max.Accepted, cancellationToken);
        return (max, max.Accepted / max.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Paced load at <paramref name="rate"/>, unmeasured, in rounds of 5 s until a round JIT-compiles fewer than
    /// <see cref="SettledMethods"/> methods (at most 12 rounds). The API, the worker and Npgsql tier up for a long time
    /// after the maximum-rate probe: in one run the JIT compiled 10,400 methods in the paced run's first 20 s, 28 in the
    /// next 5, and its thread took 0.38 of the 2 cores while it did; a service that has been running a while does not pay
    /// that, so the latency is measured after it.
    /// </summary>
    private static async Task<WarmUp> WarmUpAsync(HttpClient client, double rate, BenchOptions options, CancellationToken cancellationToken)
    {
        var round = options.Smoke ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);
        var maxRounds = options.Smoke ? 1 : 12;
        var started = Stopwatch.GetTimestamp();
        var accepted = 0L;
        var rounds = 0;
        long compiled;
        do
        {
            var before = JitInfo.GetCompiledMethodCount();
            var perSession = Math.Max(1, (int)(rate * round.TotalSeconds / 64));
            var warm = await new LoadRunner(Options(Size, sessions: 64, perSession, rate, prefix: $"warm{rounds}"), client).RunAsync(null, cancellationToken);
            accepted += warm.Accepted;
            rounds++;
            compiled = JitInfo.GetCompiledMethodCount() - before;
        }
        while (compiled >= SettledMethods && rounds < maxRounds);

        return new WarmUp(Stopwatch.GetElapsedTime(started), accepted, compiled);
    }

    /// <summary>Fewer methods JIT-compiled in a 5 s warm-up round than this: the process has tiered up.</summary>
    private const int SettledMethods = 100;

    private sealed record WarmUp(TimeSpan Elapsed, long Accepted, long CompiledInLastRound)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"a {Elapsed.TotalSeconds:0} s warm-up at that rate ({Accepted} payloads, not measured; the JIT compiled {CompiledInLastRound} methods in its last round)");
    }

    /// <summary>A load-generator run on <see cref="Stack.Key"/>'s project (the client's base address is the API).</summary>
    public static LoadOptions Options(SizeSpec size, int sessions, int perSession, double rate, string prefix) =>
        new(new Uri("http://unused/"), Stack.Key, sessions, perSession, size, rate, false, TimeSpan.FromMinutes(1), 3, prefix, 8, true);

    private static async Task WaitForAsync(string database, long count, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(database);
        var until = DateTime.UtcNow.AddMinutes(2);
        while ((long)(await source.CreateCommand("SELECT count(*) FROM ingest.payloads").ExecuteScalarAsync(cancellationToken))! < count
               && DateTime.UtcNow < until)
        {
            await Task.Delay(100, cancellationToken);
        }
    }
}
