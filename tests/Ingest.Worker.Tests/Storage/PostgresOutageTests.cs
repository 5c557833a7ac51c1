using System.Diagnostics;
using System.Text;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Storage;

/// <summary>The database goes away for 20 s under load: nothing is lost, nothing committed early, memory stays bounded.</summary>
[Collection(OutageCollection.Name)]
public sealed class PostgresOutageTests
{
    private const long RssBound = 400L * 1024 * 1024; // generous: a worker idles at ~90 MB

    [Fact]
    public async Task Postgres_stopped_for_20_s_while_5000_payloads_stream_in_then_everything_is_stored_in_order_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(partitions: 4, ct);
        var worker = await stack.StartWorkerAsync(ct);
        var sessions = Enumerable.Range(0, 20).ToDictionary(s => $"session-{s}", _ => 250);
        await ProduceAsync(stack, sessions.Keys, 0..10, ct);
        await stack.Database.WaitForCountAsync(200, ct);
        // Offsets are committed on the worker's next interval after the rows: read them once they have caught up,
        // or a commit of rows stored before the stop would look like a commit during the outage.
        await Eventually.UntilAsync(
            () => stack.CommittedOffsets(), c => c.Sum(o => Math.Max(0, o)) == 200, TimeSpan.FromSeconds(30),
            c => $"committed [{string.Join(",", c)}] of 200", ct);

        await stack.Postgres.StopAsync(ct);
        var outage = Stopwatch.StartNew();
        var committedAtStop = stack.CommittedOffsets();
        await ProduceAsync(stack, sessions.Keys, 10..250, ct);

        // The worker reads what it can, then pauses its partitions and commits nothing new.
        using var http = new HttpClient { BaseAddress = worker.Address };
        await Eventually.UntilAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct),
            text => Paused(text) == 4, TimeSpan.FromSeconds(30), text => $"paused partitions {Paused(text)}", ct);
        var peakDuringOutage = await Eventually.UntilAsync(
            () => Math.Max(0, worker.PeakRssBytes()), _ => outage.Elapsed >= TimeSpan.FromSeconds(20),
            TimeSpan.FromSeconds(40), rss => $"RSS {rss}", ct);
        Assert.Equal(committedAtStop, stack.CommittedOffsets());

        await stack.Postgres.ResumeAsync(ct);
        var recovery = Stopwatch.StartNew();
        await stack.Database.WaitForCountAsync(5000, ct, seconds: 120);
        var peak = worker.PeakRssBytes();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"outage {outage.Elapsed.TotalSeconds:0.0} s; all 5000 stored {recovery.Elapsed.TotalSeconds:0.0} s after the restart; " +
            $"peak worker RSS {peakDuringOutage / 1048576} MiB during the outage, {peak / 1048576} MiB overall");
        MeasurementLog.Record(new(
            "worker peak RSS, 20 s Postgres outage under 5,000 payloads", peak / 1048576.0, "MiB", RssBound / 1048576.0,
            $"{peakDuringOutage / 1048576} MiB during the outage; all stored {recovery.Elapsed.TotalSeconds:0.0} s after the restart"));
        MeasurementLog.Record(new(
            "Postgres outage: restart → all 5,000 stored", recovery.Elapsed.TotalSeconds, "s", null, "worker paused, backed off, resumed"));

        await stack.AssertStoredInOrderAsync(sessions, ct);
        Assert.False(worker.HasExited, worker.Output);
        Assert.InRange(peak, 1, RssBound);
    }

    private static int Paused(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("ingest_worker_partitions_paused", StringComparison.Ordinal))
        .Select(l => int.TryParse(l.Split(' ')[^1], out var n) ? n : 0)
        .FirstOrDefault();

    private static async Task ProduceAsync(IsolatedStack stack, IEnumerable<string> sessions, Range seqs, CancellationToken ct)
    {
        var deliveries = new List<Task>();
        for (var seq = seqs.Start.Value; seq < seqs.End.Value; seq++)
        {
            foreach (var session in sessions)
            {
                var bytes = Encoding.UTF8.GetBytes($"{{\"session\":\"{session}\",\"seq\":{seq},\"events\":\"{new string('x', 2000)}\"}}");
                deliveries.Add(stack.ProduceAsync(session, seq, bytes, ct));
            }
        }

        await Task.WhenAll(deliveries);
    }
}
