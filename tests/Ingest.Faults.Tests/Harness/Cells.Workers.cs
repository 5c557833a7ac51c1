using Ingest.Testing;

namespace Ingest.Faults.Tests.Harness;

/// <summary>Worker processes killed, stopped, added and removed.</summary>
public static partial class Cells
{
    /// <summary>Two workers; one is SIGKILLed under load (no drain, no commit, no leave) and a replacement starts.</summary>
    public static Fault WorkerKill { get; } = new("worker-sigkill", new(Workers: 2), async (f, ct) =>
    {
        await f.Stack.KillWorkerAsync(f.Stack.Workers[0]);
        await f.Stack.StartWorkerAsync(ct);
    });

    /// <summary>
    /// Chunk-heavy load; twice, a new worker joins, and once an upload is mid-reassembly (staged without its last
    /// chunk) the oldest worker is stopped gracefully (SIGTERM), handing its partitions and their pending uploads over.
    /// </summary>
    public static Fault GracefulStopMidReassembly { get; } = new("worker-stop-mid-reassembly", new(Workers: 1), async (f, ct) =>
    {
        for (var round = 0; round < 2; round++)
        {
            await f.Stack.StartWorkerAsync(ct);
            await Eventually.UntilAsync(() => f.Stack.PendingUploadsAsync(ct), n => n > 0, TimeSpan.FromSeconds(20), _ => "no upload mid-reassembly", ct);
            await f.Stack.StopWorkerAsync(f.Stack.Workers[0]);
        }
    })
    { Load = new LoadShape(4, TimeSpan.FromMilliseconds(150), r => r.Next(100) < 30 ? r.Next(300_000, 600_000) : r.Next(1_000, 12_000)) };

    /// <summary>One steady worker; four times another joins, stays 1.5 s and leaves (graceful), so the group rebalances every couple of seconds.</summary>
    public static Fault RebalanceStorm { get; } = new("worker-rebalance-storm", new(Workers: 1), async (f, ct) =>
    {
        for (var round = 0; round < 4; round++)
        {
            var member = await f.Stack.StartWorkerAsync(ct);
            await HoldAsync(TimeSpan.FromSeconds(1.5), ct);
            await f.Stack.StopWorkerAsync(member);
        }
    });

    /// <summary>One worker, three more join (four: one partition each), then the three leave gracefully, one by one.</summary>
    public static Fault ScaleOutAndIn { get; } = new("worker-1-4-1-replicas", new(Workers: 1), async (f, ct) =>
    {
        var added = new List<WorkerProcess>();
        for (var i = 0; i < 3; i++)
        {
            added.Add(await f.Stack.StartWorkerAsync(ct));
        }

        await HoldAsync(TimeSpan.FromSeconds(2), ct);
        foreach (var worker in added)
        {
            await f.Stack.StopWorkerAsync(worker);
        }
    });
}
