using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Ingest.Benchmarks;

/// <summary>
/// This process's garbage-collection pauses while it lives: from the runtime suspending managed threads for a collection
/// (<c>GCSuspendEEBegin</c>) to resuming them (<c>GCRestartEEEnd</c>), with the generation collected; and the thread pool
/// adding threads because its queue stood still (<c>ThreadPoolWorkerThreadAdjustment</c>, reason starvation). The
/// benchmark process runs the API and the worker, so either holds both.
/// </summary>
public sealed class RuntimeEvents : EventListener
{
    private const int GcKeyword = 0x1;
    private const int ThreadingKeyword = 0x10000;
    private const int ThreadAdjustment = 55;
    private const uint StarvationReason = 6;
    private const int SuspendBegin = 9;
    private const int RestartEnd = 3;
    private const int GcStart = 1;

    private readonly ConcurrentQueue<(DateTimeOffset Began, double Ms, int Generation)> _pauses = new();
    private readonly ConcurrentQueue<DateTimeOffset> _starvations = new();
    private DateTimeOffset? _suspended;
    private int _generation = -1;

    /// <summary>The pauses that overlapped [<paramref name="from"/>, <paramref name="to"/>]: how many, their total and the longest, in ms.</summary>
    public (int Count, double TotalMs, double LongestMs, int Gen2) During(DateTimeOffset from, DateTimeOffset to)
    {
        var pauses = _pauses.Where(p => p.Began <= to && p.Began.AddMilliseconds(p.Ms) >= from).ToList();
        return (pauses.Count, pauses.Sum(p => p.Ms), pauses.Select(p => p.Ms).DefaultIfEmpty(0).Max(), pauses.Count(p => p.Generation == 2));
    }

    /// <summary>How many times the thread pool added a thread for starvation in [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public int Starvations(DateTimeOffset from, DateTimeOffset to) => _starvations.Count(s => s >= from && s <= to);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, (EventKeywords)(GcKeyword | ThreadingKeyword));
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        switch (eventData.EventId)
        {
            case GcStart when eventData.Payload is { Count: > 1 } payload && payload[1] is uint depth:
                _generation = (int)depth;
                break;
            case ThreadAdjustment when eventData.Payload is { Count: > 2 } payload && payload[2] is uint reason && reason == StarvationReason:
                _starvations.Enqueue(eventData.TimeStamp);
                break;
            case SuspendBegin:
                _suspended = eventData.TimeStamp;
                break;
            case RestartEnd when _suspended is { } began:
                _pauses.Enqueue((began, (eventData.TimeStamp - began.UtcDateTime).TotalMilliseconds, _generation));
                _suspended = null;
                _generation = -1;
                break;
        }
    }
}
