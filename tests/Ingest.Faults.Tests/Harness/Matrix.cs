using System.Diagnostics;
using Ingest.Testing;
using Ingest.Testing.Hosting;

namespace Ingest.Faults.Tests.Harness;

/// <summary>Runs one cell: a stack, continuous load, the fault on schedule, recovery, drain, the invariant, one result line.</summary>
public static class Matrix
{
    /// <summary>Payloads stored before the fault (the pipeline flows) and accepted after it (it recovered).</summary>
    private const int Warmup = 40;
    private const int Recovery = 30;

    public static Task<CellResult> RunAsync(Fault fault, KafkaFixture kafka, PostgresFixture postgres, CancellationToken ct) =>
        RunAsync(fault, kafka, null, postgres, ct);

    /// <summary>Runs <paramref name="fault"/>; <paramref name="real"/> is the fault collection's three-node cluster, for the cells that need it.</summary>
    public static async Task<CellResult> RunAsync(Fault fault, KafkaFixture kafka, RealCluster? real, PostgresFixture postgres, CancellationToken ct)
    {
        if (fault.Needs.Broker == BrokerNeed.RealCluster && RealCluster.Unavailable is { } reason)
        {
            Report($"FAULT {fault.Name,-28} skipped: {reason}");
            Assert.Skip($"{fault.Name}: {reason}");
        }

        var clock = Stopwatch.StartNew();
        await using var stack = await FaultStack.CreateAsync(kafka, real, postgres, fault.Needs, ct);
        if (fault.PrepareAsync is { } prepare)
        {
            await prepare(stack, ct);
        }

        var ledger = new Ledger();
        var clients = new RecordingClients(stack.ApiAddress, TestApiKeys.IngestReadKey, fault.Load, ledger, stack.Backlog, $"{fault.Name}-{Guid.NewGuid():N}"[..40]);
        DateTimeOffset faultStart, faultEnd;
        await using (clients)
        {
            await WaitAsync(stack, clients, () => ledger.AcceptedCount >= Warmup, "warm-up: payloads accepted", ct);
            await WaitStoredAsync(stack, ledger, ledger.Sent.Where(p => p.AcceptedAt is not null).Take(Warmup).ToList(), "warm-up: payloads stored", ct);

            faultStart = DateTimeOffset.UtcNow;
            await fault.InjectAsync(new FaultContext(stack, clients, ledger), ct);
            faultEnd = DateTimeOffset.UtcNow;

            await WaitAsync(stack, clients, () => ledger.AcceptedBetween(faultEnd, DateTimeOffset.MaxValue).Count() >= Recovery, "recovery: payloads accepted after the fault", ct);
            await clients.StopAsync(TimeSpan.FromSeconds(20));
        }

        await DrainAsync(stack, ledger, ct);
        var result = await InvariantCheck.RunAsync(fault.Name, stack, ledger, faultStart, faultEnd, ct);
        result.Elapsed = clock.Elapsed;
        Report(result.Line());
        Assert.True(result.Holds && result.DeadLettered.Count == 0, $"{result.Details()}\n--- processes ---\n{Tail(stack.Output)}");
        return result;
    }

    /// <summary>Prints to the test's output and to the console, so the line shows in the run.sh log.</summary>
    public static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine(line);
    }

    /// <summary>Waits (at most 60 s) until every accepted payload is stored or dead-lettered; the check then says what is missing.</summary>
    internal static async Task DrainAsync(FaultStack stack, Ledger ledger, CancellationToken ct)
    {
        var accepted = ledger.Sent.Where(p => p.AcceptedAt is not null).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var keys = await StoredPayloads.KeysAsync(stack.UnpooledConnectionString, TestApiKeys.Project, ct);
            if (accepted.All(p => keys.Contains((p.Session, p.Seq))))
            {
                return;
            }

            await Task.Delay(100, ct); // polling a condition with a deadline
        }
    }

    private static Task WaitStoredAsync(FaultStack stack, Ledger ledger, List<SentPayload> payloads, string what, CancellationToken ct) =>
        Eventually.UntilAsync(
            () => StoredPayloads.KeysAsync(stack.UnpooledConnectionString, TestApiKeys.Project, ct),
            keys => payloads.All(p => keys.Contains((p.Session, p.Seq))),
            TimeSpan.FromSeconds(60), keys => $"{what}: {keys.Count} stored, answers {string.Join(' ', ledger.Answers)}\n{Tail(stack.Output)}", ct);

    /// <summary>Waits (at most 60 s) for <paramref name="done"/>; fails at once when a client session failed.</summary>
    internal static Task WaitAsync(FaultStack stack, RecordingClients clients, Func<bool> done, string what, CancellationToken ct) =>
        Eventually.UntilAsync(
            () =>
            {
                clients.ThrowIfFailed();
                return done();
            },
            d => d, TimeSpan.FromSeconds(60), _ => $"{what}\n{Tail(stack.Output)}", ct);

    internal static string Tail(string output) => output.Length > 6000 ? output[^6000..] : output;
}
