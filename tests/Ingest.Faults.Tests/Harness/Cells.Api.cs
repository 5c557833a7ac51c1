using Ingest.Testing.Hosting;

namespace Ingest.Faults.Tests.Harness;

/// <summary>The API killed, clients vanishing mid-upload, and a flood beyond the in-flight budget.</summary>
public static partial class Cells
{
    /// <summary>The API (a child process) is SIGKILLed with uploads in flight and started again on the same port.</summary>
    public static Fault ApiKill { get; } = new("api-sigkill", new(), async (f, ct) =>
    {
        await f.Stack.KillAndRestartApiAsync(ct);
        await HoldAsync(TimeSpan.FromSeconds(1), ct);
        await f.Stack.KillAndRestartApiAsync(ct);
    });

    /// <summary>For 5 s every third attempt is abandoned half-way through its body; the client then retries it.</summary>
    public static Fault ClientDisconnects { get; } = new("api-client-disconnects", new(), async (f, ct) =>
    {
        f.Clients.AbandonEvery = 3;
        await HoldAsync(Hold, ct);
        f.Clients.AbandonEvery = 0;
    });

    /// <summary>
    /// A 2 MiB in-flight budget (the least the API accepts is 1.5 MiB), and 32 more sessions each posting five
    /// 100–300 KB payloads back to back: about three times the budget wanted at once, so the API answers 429 and
    /// the clients retry. The flood is bounded in bytes
    /// (~32 MB, ~11 MB after LZ4) so that the mock's 5 MiB per-partition retention is not outrun: a first version
    /// without a bound flooded for 5 s, the worker fell 5 MiB behind on a partition and the mock dropped accepted
    /// payloads it had not read yet (the worker reported it as data loss: offset out of range, missing chunks).
    /// </summary>
    public static Fault Flood { get; } = new("api-flood-beyond-budget", new(ApiArgs: ["--Api:InFlightBudgetBytes=2097152"]), async (f, ct) =>
    {
        await using var flood = new RecordingClients(
            f.Stack.ApiAddress, TestApiKeys.IngestReadKey, new LoadShape(32, TimeSpan.Zero, r => r.Next(100_000, 300_000), PayloadsPerSession: 5),
            f.Ledger, f.Stack.Backlog, $"flood-{Guid.NewGuid():N}"[..20]);
        await flood.Completion.WaitAsync(TimeSpan.FromSeconds(60), ct);
    });
}
