using System.Diagnostics.Metrics;
using Ingest.Api.Backpressure;
using Ingest.Api.Lifecycle;

namespace Ingest.Api.Telemetry;

/// <summary>
/// Instruments of the <c>Ingest.Api</c> meter. Created through <see cref="IMeterFactory"/>, so two API
/// instances in one process (tests) keep separate meters.
/// </summary>
public sealed class ApiMetrics
{
    /// <summary>Seconds: linger (5 ms) plus a replicated ack is milliseconds; the delivery timeout is 30 s.</summary>
    private static readonly double[] DurationBuckets = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Counter<long> _payloadsAccepted;
    private readonly Counter<long> _bytesAccepted;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _produceDuration;
    private readonly Counter<long> _disconnects;
    private readonly Counter<long> _uploadsAborted;
    private long _acceptedTotal;

    /// <summary><c>HttpContext.Items</c> key under which an endpoint names why it refused a request.</summary>
    public const string RefusalReasonKey = "ingest.refusal.reason";

    public ApiMetrics(IMeterFactory meterFactory, InFlightBudget budget, BacklogGuard backlog, ErasedSessions erased)
    {
        var meter = meterFactory.Create(ApiTelemetry.Name);
        _payloadsAccepted = meter.CreateCounter<long>(
            "ingest.api.payloads.accepted", "{payload}", "Payloads acknowledged by Kafka and answered 202.");
        _bytesAccepted = meter.CreateCounter<long>(
            "ingest.api.payload.bytes.accepted", "By", "Decoded bytes of accepted payloads.");
        _refusals = meter.CreateCounter<long>(
            "ingest.api.payloads.refused", "{request}", "Payload posts answered with an error, by HTTP status, reason (problem type) and project (none before authentication).");
        _disconnects = meter.CreateCounter<long>(
            "ingest.api.client.disconnects", "{request}", "Payload posts whose client went away before the answer (nothing of them is stored).");
        _uploadsAborted = meter.CreateCounter<long>(
            "ingest.api.uploads.aborted", "{upload}",
            "Uploads given up after some chunks were produced, by whether their abort marker was produced (the worker then drops their staged chunks).");
        meter.CreateObservableGauge(
            "ingest.api.inflight.bytes", () => budget.InFlight, "By", "Decoded bytes read from clients and not yet acknowledged by Kafka.");
        meter.CreateObservableGauge(
            "ingest.api.inflight.project.bytes",
            () => budget.Accounts.Select(a => new Measurement<long>(a.Used, new KeyValuePair<string, object?>("project", a.ProjectId))),
            "By",
            "Per project: decoded bytes read from its uploads and not yet acknowledged by Kafka.");
        meter.CreateObservableGauge(
            "ingest.api.inflight.project.share",
            () => budget.Accounts.Select(a => new Measurement<long>(a.Cap, new KeyValuePair<string, object?>("project", a.ProjectId))),
            "By",
            "Per project: the most of the in-flight budget its uploads may hold (BudgetShare); its new posts get 429 beyond it.");
        meter.CreateObservableGauge(
            "ingest.api.inflight.budget", () => budget.Capacity, "By", "Api:InFlightBudgetBytes; new posts get 429 while in-flight bytes reach it.");
        meter.CreateObservableGauge(
            "ingest.api.backlog.bytes",
            () => backlog.Views().Select(v => new Measurement<long>(v.Bytes, new KeyValuePair<string, object?>("partition", v.Partition))),
            "By",
            "Per partition: bytes accepted and not yet committed by the workers, as the backlog guard counts them (absent while it is off).");
        meter.CreateObservableGauge(
            "ingest.api.backlog.limit",
            () => backlog.Limit is { } limit ? [new Measurement<long>(limit.Bytes)] : Array.Empty<Measurement<long>>(),
            "By",
            "Most bytes a partition may hold accepted and not yet committed before new payloads for it get 503 (absent while the guard is off).");
        meter.CreateObservableGauge(
            "ingest.api.erasure.tombstones", () => erased.Count, "{tombstone}",
            "Erased sessions and projects whose posts this instance refuses with 410 (expired ones until the next full load).");
        meter.CreateObservableGauge(
            "ingest.api.erasure.listening", () => erased.Listening ? 1 : 0, "{state}",
            "1 while this instance listens for erasures made elsewhere; 0 at start-up and while the database cannot be reached.");
        _produceDuration = meter.CreateHistogram<double>(
            "ingest.api.produce.duration",
            "s",
            "From ProduceAsync to Kafka's acknowledgement or refusal.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    }

    /// <summary>Payloads this API instance accepted since it started (the status page turns it into a rate).</summary>
    public long AcceptedTotal => Interlocked.Read(ref _acceptedTotal);

    public void Accepted(long bytes)
    {
        Interlocked.Increment(ref _acceptedTotal);
        _payloadsAccepted.Add(1);
        _bytesAccepted.Add(bytes);
    }

    public void Refused(int status, string reason, string? project) => _refusals.Add(
        1,
        new KeyValuePair<string, object?>("http.response.status_code", status),
        new KeyValuePair<string, object?>("reason", reason),
        new KeyValuePair<string, object?>("project", project ?? "none"));

    public void ClientDisconnected() => _disconnects.Add(1);

    public void UploadAborted(string outcome) => _uploadsAborted.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Produced(TimeSpan duration, string outcome) =>
        _produceDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
}
