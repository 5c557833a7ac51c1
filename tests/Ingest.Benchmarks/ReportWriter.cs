using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ingest.Testing;
using Ingest.Testing.Reporting;

namespace Ingest.Benchmarks;

/// <summary>Writes <c>report.json</c>, <c>report.md</c>, <c>throughput.svg</c> and <c>latency.svg</c>.</summary>
public static class ReportWriter
{
    /// <summary>A value not measured (an expiry not over by its deadline, an empty window) is NaN: written as "NaN", not refused.</summary>
    private const JsonNumberHandling JsonSerializationNumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals;

    public static async Task WriteAsync(
        string directory, string machine, string command, IReadOnlyList<Measurement> measurements,
        IReadOnlyList<LatencyMeasurement> latencies, IReadOnlyList<AbsoluteMeasurement> absolutes, IReadOnlyList<string> notes,
        ScalingReport? scaling, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var json = JsonSerializer.Serialize(new
        {
            generatedAt = DateTimeOffset.UtcNow,
            machine,
            command,
            measurements = measurements.Select(m => new { m.Scenario, m.Unit, m.Value, m.Baseline, m.BaselineName, m.Ratio, m.Target, m.MeetsTarget, m.Detail }),
            latencies,
            absolutes = absolutes.Select(a => new { a.Scenario, a.Value, a.Unit, a.Limit, a.WithinLimit, a.Detail }),
            notes,
            scaling = scaling is null ? null : new { scaling.Payloads, scaling.Partitions, scaling.Broker, scaling.BrokerMeasured, scaling.Runs, scaling.Api, scaling.WorkerCpuMsPer1000, scaling.PostgresCpuMsPer1000, scaling.BrokerCpuMsPer1000, ScalingReport.Headroom, scaling.Capacity },
        }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonSerializationNumberHandling });
        await File.WriteAllTextAsync(Path.Combine(directory, "report.json"), json, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.md"), Markdown(machine, command, measurements, latencies, absolutes, notes) + scaling?.Markdown(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "throughput.svg"), RatioChart(measurements.Where(m => m.Baseline > 0).ToList()), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "latency.svg"), LatencyChart(latencies), cancellationToken);
    }

    private static string Markdown(
        string machine, string command, IReadOnlyList<Measurement> measurements, IReadOnlyList<LatencyMeasurement> latencies,
        IReadOnlyList<AbsoluteMeasurement> absolutes, IReadOnlyList<string> notes)
    {
        var md = new StringBuilder();
        md.AppendLine("# Ingest benchmark report").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- generated: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine(CultureInfo.InvariantCulture, $"- machine: {machine}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- command: `{command}`").AppendLine();
        md.AppendLine("| scenario | value | baseline | ratio | target | detail |").AppendLine("|---|---|---|---|---|---|");
        foreach (var m in measurements)
        {
            var baseline = m.Baseline > 0 ? string.Create(CultureInfo.InvariantCulture, $"{m.Baseline:0.0} ({m.BaselineName})") : m.BaselineName;
            var ratio = m.Baseline > 0 ? string.Create(CultureInfo.InvariantCulture, $"{m.Ratio:0.00}") : "—";
            var target = m.Target is { } t ? string.Create(CultureInfo.InvariantCulture, $"≥ {t:0.00} {(m.MeetsTarget == true ? "met" : "missed")}") : "—";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Scenario} | {m.Value:0.0} {m.Unit} | {baseline} | {ratio} | {target} | {m.Detail} |");
        }

        md.AppendLine().AppendLine("| latency | p50 ms | p99 ms | p99.9 ms | samples | detail |").AppendLine("|---|---|---|---|---|---|");
        foreach (var l in latencies)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {l.Scenario} | {l.P50:0.0} | {l.P99:0.0} | {l.P999:0.0} | {l.Samples} | {l.Detail} |");
        }

        if (absolutes.Count > 0)
        {
            md.AppendLine().AppendLine("| measurement | value | limit | detail |").AppendLine("|---|---|---|---|");
            foreach (var a in absolutes)
            {
                var limit = a.Limit is { } l ? string.Create(CultureInfo.InvariantCulture, $"≤ {l:0.###} {a.Unit} {(a.WithinLimit == true ? "met" : "missed")}") : "—";
                md.AppendLine(CultureInfo.InvariantCulture, $"| {a.Scenario} | {a.Value:0.0} {a.Unit} | {limit} | {a.Detail} |");
            }
        }

        if (notes.Count > 0)
        {
            md.AppendLine().AppendLine("How these were measured:").AppendLine();
            foreach (var note in notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        md.AppendLine().AppendLine("![throughput vs baseline](throughput.svg)").AppendLine().AppendLine("![latency](latency.svg)");
        return md.ToString();
    }

    /// <summary>One bar per scenario: its value as a fraction of its same-run baseline, with the target marked.</summary>
    private static string RatioChart(IReadOnlyList<Measurement> measurements)
    {
        const int Row = 34, Left = 230, Width = 400;
        var height = 40 + (Row * Math.Max(1, measurements.Count));
        var svg = SvgChart.Header(Left + Width + 80, height, "Throughput as a fraction of the same-run baseline");
        for (var i = 0; i < measurements.Count; i++)
        {
            var m = measurements[i];
            var y = 30 + (i * Row);
            var bar = Math.Min(1.5, m.Ratio) / 1.5 * Width;
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='4' y='{y + 16}' font-size='12'>{WebUtility.HtmlEncode(m.Scenario)}</text>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<rect x='{Left}' y='{y + 4}' width='{bar:0.0}' height='18' fill='{(m.MeetsTarget == false ? "#d9534f" : "#4a90d9")}'/>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='{Left + bar + 4:0.0}' y='{y + 17}' font-size='11'>{m.Ratio:0.00}</text>");
            if (m.Target is { } t)
            {
                var x = Left + (t / 1.5 * Width);
                svg.AppendLine(CultureInfo.InvariantCulture, $"<line x1='{x:0.0}' x2='{x:0.0}' y1='{y}' y2='{y + 26}' stroke='black' stroke-dasharray='3,2'/>");
            }
        }

        var one = Left + (Width / 1.5);
        svg.AppendLine(CultureInfo.InvariantCulture, $"<line x1='{one:0.0}' x2='{one:0.0}' y1='24' y2='{height - 6}' stroke='#999'/><text x='{one - 8:0.0}' y='20' font-size='10'>1.0</text>");
        return svg.AppendLine("</svg>").ToString();
    }

    /// <summary>One row per latency measurement: p99.9, p99 and p50 as overlaid bars on one scale, the values beside them.</summary>
    private static string LatencyChart(IReadOnlyList<LatencyMeasurement> latencies)
    {
        const int Row = 24, Left = 540, Width = 300;
        var height = 40 + (Row * Math.Max(1, latencies.Count));
        var svg = SvgChart.Header(Left + Width + 170, height, "End-to-end latency (ms): p50 dark, p99 mid, p99.9 light");
        var max = Math.Max(1, latencies.SelectMany(l => new[] { l.P50, l.P99, l.P999 }).Where(double.IsFinite).DefaultIfEmpty(1).Max());
        for (var i = 0; i < latencies.Count; i++)
        {
            var l = latencies[i];
            var y = 30 + (i * Row);
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='4' y='{y + 14}' font-size='11'>{WebUtility.HtmlEncode(l.Scenario)}</text>");
            foreach (var (value, colour) in new[] { (l.P999, "#c8e6c9"), (l.P99, "#81c784"), (l.P50, "#2e7d32") })
            {
                var w = double.IsFinite(value) ? value / max * Width : 0;
                svg.AppendLine(CultureInfo.InvariantCulture, $"<rect x='{Left}' y='{y + 2}' width='{w:0.0}' height='16' fill='{colour}'/>");
            }

            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x='{Left + Width + 6}' y='{y + 14}' font-size='11'>{l.P50:0.0} / {l.P99:0.0} / {l.P999:0.0}</text>");
        }

        return svg.AppendLine("</svg>").ToString();
    }
}
