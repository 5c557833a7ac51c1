using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ingest.Storage.Lifecycle;

namespace Ingest.Worker.Lifecycle;

/// <summary>
/// Metrics of the data lifecycle, on the worker's meter (<c>Ingest.Worker</c>): payloads and bytes removed as expired or
/// erased per project, the age of each project's oldest stored payload, partitions created and dropped, pass duration.
/// </summary>
public sealed class LifecycleTelemetry
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _oldest = new(StringComparer.Ordinal);
    private readonly Meter _meter = new(Telemetry.WorkerTelemetry.Name);
    private readonly Counter<long> _removed;
    private readonly Counter<long> _removedBytes;
    private readonly Counter<long> _partitions;
    private readonly Histogram<double> _passDuration;
    private readonly Counter<long> _passFailures;
    private readonly TimeProvider _timeProvider;

    public LifecycleTelemetry(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _removed = _meter.CreateCounter<long>(
            "ingest.worker.lifecycle.removed", "{payload}", "Stored payloads removed, by project and reason (expired, erased).");
        _removedBytes = _meter.CreateCounter<long>(
            "ingest.worker.lifecycle.removed_bytes", "By", "Decoded bytes of the stored payloads removed row by row, by project and reason (expired, erased); the rows of a dropped partition are counted in ingest.worker.lifecycle.removed only.");
        _partitions = _meter.CreateCounter<long>(
            "ingest.worker.lifecycle.partitions", "{partition}", "Partitions of the expiring tables created ahead or dropped, by action.");
        // Seconds (OpenTelemetry's default buckets, 0, 5, 10 … 10,000, are meant for milliseconds).
        _passDuration = _meter.CreateHistogram<double>(
            "ingest.worker.lifecycle.pass.duration", "s", "Time of one maintenance pass.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
        _passFailures = _meter.CreateCounter<long>(
            "ingest.worker.lifecycle.pass.failures", "{pass}", "Maintenance passes that failed (the database away, say); the next one tries again.");
        _meter.CreateObservableGauge(
            "ingest.worker.lifecycle.oldest_payload_age",
            () => _oldest.Select(p => new Measurement<double>(
                Math.Max(0, (_timeProvider.GetUtcNow() - p.Value).TotalSeconds), new KeyValuePair<string, object?>("project", p.Key))),
            "s", "Age of each project's oldest stored payload (by receipt), as of the last maintenance pass.");
    }

    /// <summary>Records what a pass that ran did.</summary>
    public void Pass(MaintenanceReport report, TimeSpan duration)
    {
        _passDuration.Record(duration.TotalSeconds);
        Removed(report.Expired, "expired");
        Removed(report.Erased, "erased");
        _partitions.Add(report.PartitionsCreated, new KeyValuePair<string, object?>("action", "created"));
        _partitions.Add(report.PartitionsDropped, new KeyValuePair<string, object?>("action", "dropped"));
        foreach (var project in _oldest.Keys.Except(report.OldestReceived.Keys))
        {
            _oldest.TryRemove(project, out _);
        }

        foreach (var (project, oldest) in report.OldestReceived)
        {
            _oldest[project] = oldest;
        }
    }

    /// <summary>Records a pass that failed.</summary>
    public void Failed() => _passFailures.Add(1);

    private void Removed(Removed removed, string reason)
    {
        foreach (var (project, (payloads, bytes)) in removed.Projects.Where(p => p.Value.Payloads > 0))
        {
            _removed.Add(payloads, new("project", project), new("reason", reason));
            _removedBytes.Add(bytes, new("project", project), new("reason", reason));
        }
    }
}
