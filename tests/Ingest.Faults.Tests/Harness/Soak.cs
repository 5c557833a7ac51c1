using Confluent.Kafka;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ingest.Testing;
using Ingest.Testing.Hosting;
using Ingest.Testing.Reporting;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The matrix on a loop on one long-lived stack (its own broker and Postgres, the API and two workers as child
/// processes): continuous load, the soak faults one after another for N minutes, API and worker RSS sampled every
/// second; then the invariant over everything sent, a CSV and an SVG chart of memory and end-to-end latency over
/// time (leaks and slow drifts show as slopes), and one line per fault.
/// </summary>
public static class Soak
{
    /// <summary>
    /// Runs the soak for <paramref name="duration"/>. With <paramref name="real"/> the stack runs on the fault collection's
    /// real three-node cluster and the broker faults are the real cluster's (nodes killed, stopped, paused, an election);
    /// without, on a mock cluster of its own with the mock's broker faults.
    /// </summary>
    public static async Task<CellResult> RunAsync(
        TimeSpan duration, string outputDirectory, KafkaFixture kafka, RealCluster? real, PostgresFixture postgres, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var broker = real is null ? BrokerNeed.OwnMock : BrokerNeed.RealCluster;
        await using var stack = await FaultStack.CreateAsync(kafka, real, postgres, new StackNeeds(broker, OwnPostgres: true, Workers: 2), ct);
        var ledger = new Ledger();
        var started = DateTimeOffset.UtcNow;
        var samples = new List<(double Seconds, string Fault, long ApiRss, long WorkerRss, long Accepted)>();
        var current = "none";
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1)); // sampling cadence, not synchronisation
            while (await timer.WaitForNextTickAsync(stopSampling.Token).AsTask().ContinueWith(t => !t.IsCanceled, TaskScheduler.Default))
            {
                var (api, workers) = stack.Rss();
                lock (samples)
                {
                    samples.Add(((DateTimeOffset.UtcNow - started).TotalSeconds, Volatile.Read(ref current), api, workers, ledger.AcceptedCount));
                }
            }
        }, CancellationToken.None);

        var windows = new List<(string Fault, DateTimeOffset Start, DateTimeOffset End)>();
        try
        {
            await RunFaultsAsync(stack, real, ledger, clock, duration, windows, name => Volatile.Write(ref current, name), ct);
            await Matrix.DrainAsync(stack, ledger, ct);
        }
        finally
        {
            // Sampling stops before the stack goes, also when the soak fails; the processes' last lines are kept either way.
            await stopSampling.CancelAsync();
            await sampler;
            Directory.CreateDirectory(outputDirectory);
            await File.WriteAllTextAsync(Path.Combine(outputDirectory, "processes.log"), stack.Output, CancellationToken.None);
        }

        var result = await InvariantCheck.RunAsync($"soak-{duration.TotalMinutes:0}min", stack, ledger, started, DateTimeOffset.UtcNow, ct);
        result.Elapsed = clock.Elapsed;
        var acceptedAt = ledger.Sent.Where(p => p.AcceptedAt is not null).Select(p => p.AcceptedAt!.Value).ToList();
        var storedAt = result.Latencies.Select(l => l.StoredAt).ToList();
        foreach (var (fault, start, end) in windows)
        {
            var worst = result.Latencies.Where(l => l.StoredAt >= start && l.StoredAt - l.Latency <= end).Select(l => l.Latency).DefaultIfEmpty().Max();
            Matrix.Report(string.Create(CultureInfo.InvariantCulture,
                $"SOAK {start - started:hh\\:mm\\:ss} {fault,-28} lasted {(end - start).TotalSeconds:0.0}s max-e2e={worst.TotalMilliseconds:0}ms " +
                $"stall-202={InvariantCheck.LongestGap(acceptedAt, start, end).TotalMilliseconds:0}ms stall-stored={InvariantCheck.LongestGap(storedAt, start, end).TotalMilliseconds:0}ms"));
        }

        await WriteAsync(outputDirectory, started, samples, result, ct);
        Matrix.Report($"SOAK report: {Path.Combine(outputDirectory, "soak.csv")}, soak.svg, processes.log (last lines of the API and workers)");
        return result;
    }

    private static async Task RunFaultsAsync(
        FaultStack stack, RealCluster? real, Ledger ledger, Stopwatch clock, TimeSpan duration, List<(string Fault, DateTimeOffset Start, DateTimeOffset End)> windows,
        Action<string> setCurrent, CancellationToken ct)
    {
        var faults = real is null ? Cells.Soak : Cells.SoakOnRealCluster;
        await using (var clients = new RecordingClients(stack.ApiAddress, TestApiKeys.IngestReadKey, LoadShape.Default, ledger, stack.Backlog, $"soak-{Guid.NewGuid():N}"[..20]))
        {
            for (var round = 0; clock.Elapsed < duration; round++)
            {
                var fault = faults[round % faults.Count];
                if (real is not null)
                {
                    await real.GetHealthyAsync(ct); // the previous fault's nodes back and in sync, as between the matrix's cells
                }

                var before = ledger.AcceptedCount;
                setCurrent(fault.Name);
                var start = DateTimeOffset.UtcNow;
                await fault.InjectAsync(new FaultContext(stack, clients, ledger), ct);
                windows.Add((fault.Name, start, DateTimeOffset.UtcNow));
                setCurrent("none");
                // Recovered before the next fault: new payloads accepted, and everything accepted so far stored, so
                // that a loss or a stall is reported at the fault that caused it.
                await Matrix.WaitAsync(stack, clients, () => ledger.AcceptedCount >= before + 30, $"soak: recovery after {fault.Name}", ct);
                var accepted = ledger.Sent.Where(p => p.AcceptedAt is not null).Select(p => (p.Session, p.Seq)).ToList();
                await Eventually.UntilAsync(
                    () => StoredPayloads.KeysAsync(stack.UnpooledConnectionString, TestApiKeys.Project, ct),
                    keys => accepted.All(keys.Contains), TimeSpan.FromSeconds(90),
                    keys => NotCaughtUp(stack, fault.Name, [.. accepted.Where(a => !keys.Contains(a))]), ct);
            }

            await clients.StopAsync(TimeSpan.FromSeconds(20));
        }
    }

    private static string NotCaughtUp(FaultStack stack, string fault, List<(string Session, long Seq)> missing)
    {
        string where;
        try
        {
            var places = TopicLog.Locate(stack.BootstrapServers, stack.Topic, FaultStack.Partitions, [.. missing.Take(10)]);
            where = string.Join('\n', places.Select(p => $"{p.Key.Session}/{p.Key.Seq} in Kafka: {(p.Value.Count > 0 ? string.Join(", ", p.Value) : "nowhere")}"));
        }
        catch (Exception ex) when (ex is KafkaException or Xunit.Sdk.XunitException)
        {
            // A broker still down must not hide what the soak found.
            where = $"{string.Join(", ", missing.Take(10))} (the payload topic could not be read: {ex.Message})";
        }

        var cluster = stack.Broker.Cluster is { } nodes ? $"\n{RealCluster.Describe(nodes, stack.Topic, stack.GroupId)}" : "";
        return $"soak: workers did not catch up after {fault}: {missing.Count} accepted payloads not stored, e.g.\n{where}{cluster}\n{Matrix.Tail(stack.Output)}";
    }

    private static async Task WriteAsync(
        string directory, DateTimeOffset started, List<(double Seconds, string Fault, long ApiRss, long WorkerRss, long Accepted)> samples,
        CellResult result, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        // End-to-end latency of the payloads stored in each second.
        var latency = result.Latencies
            .GroupBy(l => (int)(l.StoredAt - started).TotalSeconds)
            .ToDictionary(g => g.Key, g =>
            {
                var ms = g.Select(l => l.Latency.TotalMilliseconds).Order().ToList();
                return (P99: ms[(int)Math.Min(ms.Count - 1, Math.Ceiling(ms.Count * 0.99) - 1)], Max: ms[^1], Count: ms.Count);
            });
        var csv = new StringBuilder("seconds,fault,api_rss_mib,workers_rss_mib,accepted_total,stored_in_second,e2e_p99_ms,e2e_max_ms\n");
        foreach (var s in samples)
        {
            var l = latency.GetValueOrDefault((int)s.Seconds);
            csv.AppendLine(CultureInfo.InvariantCulture,
                $"{s.Seconds:0.0},{s.Fault},{s.ApiRss / 1048576.0:0.0},{s.WorkerRss / 1048576.0:0.0},{s.Accepted},{l.Count},{l.P99:0},{l.Max:0}");
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "soak.csv"), csv.ToString(), ct);
        IReadOnlyList<(double X, double Y)> Series(Func<(double Seconds, string Fault, long ApiRss, long WorkerRss, long Accepted), double> y) =>
            [.. samples.Select(s => (s.Seconds, y(s)))];
        var latencyPoints = latency.OrderBy(l => l.Key).ToList();
        var svg = SvgChart.TimeSeries($"Soak {result.Fault}: memory and end-to-end latency over time", [
            ("RSS MiB", [("API", Series(s => s.ApiRss / 1048576.0)), ("workers (sum)", Series(s => s.WorkerRss / 1048576.0))]),
            ("end-to-end ms", [("p99 per second", [.. latencyPoints.Select(l => ((double)l.Key, l.Value.P99))]), ("max per second", [.. latencyPoints.Select(l => ((double)l.Key, l.Value.Max))])]),
            ("accepted payloads", [("total", Series(s => s.Accepted))]),
        ]);
        await File.WriteAllTextAsync(Path.Combine(directory, "soak.svg"), svg, ct);
    }
}
