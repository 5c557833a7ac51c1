namespace Ingest.Benchmarks;

/// <summary>One scenario measured beside its baseline in the same run.</summary>
/// <param name="Scenario">What was measured, e.g. <c>api 1 KB</c>.</param>
/// <param name="Unit">Unit of the two values (payloads/s, MB/s).</param>
/// <param name="Value">The scenario's value.</param>
/// <param name="Baseline">The baseline's value.</param>
/// <param name="BaselineName">What the baseline is.</param>
/// <param name="Target">Required ratio, if the issue sets one.</param>
/// <param name="Detail">Settings and secondary numbers (concurrency, latency, errors).</param>
public sealed record Measurement(
    string Scenario, string Unit, double Value, double Baseline, string BaselineName, double? Target, string Detail)
{
    public double Ratio => Baseline > 0 ? Value / Baseline : 0;

    public bool? MeetsTarget => Target is { } t ? Ratio >= t : null;
}

/// <summary>Latency percentiles of one scenario, milliseconds.</summary>
public sealed record LatencyMeasurement(string Scenario, double P50, double P99, double P999, long Samples, string Detail);
