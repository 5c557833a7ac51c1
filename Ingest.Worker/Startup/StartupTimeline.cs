using System.Diagnostics;

namespace Ingest.Worker.Startup;

/// <summary>The milestones of a worker's start-up, in the order a restarted worker passes them.</summary>
public enum StartupPhase
{
    /// <summary>Configuration, logging and services are built (<c>WebApplication.Build</c>).</summary>
    HostBuilt,

    /// <summary>The payload topic's durability settings were checked (or could not be, or the check is off).</summary>
    DurabilityChecked,

    /// <summary>Schema migrations are applied.</summary>
    SchemaReady,

    /// <summary>The consumer exists and has subscribed to the payload topic.</summary>
    Subscribed,

    /// <summary>Kestrel listens: /healthz and /metrics answer.</summary>
    Listening,

    /// <summary>The group coordinator gave this worker its first partitions.</summary>
    PartitionsAssigned,

    /// <summary>The first batch is stored in Postgres.</summary>
    FirstBatchStored,
}

/// <summary>
/// Logs each <see cref="StartupPhase"/> once, with the time since the process started (the kernel's start time, so
/// the runtime's own start-up counts too): how long a restarted worker takes to store again, and where it goes, is
/// read from its log. A SIGKILLed worker restarted with its <c>group.instance.id</c> gets its partitions back with no
/// rebalance, so this start-up is the whole of that failover's pause.
/// </summary>
public sealed class StartupTimeline(ILogger<StartupTimeline> logger)
{
    private static readonly DateTime ProcessStarted = Process.GetCurrentProcess().StartTime.ToUniversalTime();
    private readonly int[] _marked = new int[Enum.GetValues<StartupPhase>().Length];

    /// <summary>Logs <paramref name="phase"/> the first time it is reached; later calls do nothing.</summary>
    public void Mark(StartupPhase phase)
    {
        if (Interlocked.Exchange(ref _marked[(int)phase], 1) == 0)
        {
            Log.Reached(logger, phase, (DateTime.UtcNow - ProcessStarted).TotalMilliseconds);
        }
    }
}

/// <summary>Start-up log messages, event ids 2500–2599.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2500, Level = LogLevel.Information, Message = "Start-up: {Phase} at {SinceProcessStartMs:0} ms")]
    public static partial void Reached(ILogger logger, StartupPhase phase, double sinceProcessStartMs);
}
