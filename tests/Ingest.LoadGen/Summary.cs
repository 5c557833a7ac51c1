using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Ingest.LoadGen;

/// <summary>The run's summary, as a table or as JSON.</summary>
public static class Summary
{
    public static void Write(LoadOptions options, LoadResult result, List<string>? problems)
    {
        var seconds = Math.Max(result.Elapsed.TotalSeconds, 1e-9);
        if (options.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                sessions = options.Sessions,
                payloadsPerSession = options.PayloadsPerSession,
                size = options.Size.ToString(),
                accepted = result.Accepted,
                refused = result.Refused.ToDictionary(r => r.Key.ToString(CultureInfo.InvariantCulture), r => r.Value),
                failures = result.Failures,
                retries = result.Retries,
                bytes = result.Bytes,
                seconds,
                payloadsPerSecond = result.Accepted / seconds,
                megabytesPerSecond = result.Bytes / seconds / 1e6,
                latencyMs = new { p50 = result.Percentile(50), p99 = result.Percentile(99), p999 = result.Percentile(99.9) },
                verified = problems is null ? (bool?)null : problems.Count == 0,
                problems,
            }));
            return;
        }

        var table = new Table().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("accepted (202)", result.Accepted.ToString("N0", CultureInfo.InvariantCulture));
        foreach (var (status, count) in result.Refused.OrderBy(r => r.Key))
        {
            Row($"refused {status}", count.ToString("N0", CultureInfo.InvariantCulture));
        }

        foreach (var (reason, count) in result.Failures)
        {
            Row($"failed ({reason})", count.ToString("N0", CultureInfo.InvariantCulture));
        }

        Row("retries", result.Retries.ToString("N0", CultureInfo.InvariantCulture));
        Row("bytes accepted", SizeSpec.Format(result.Bytes));
        Row("elapsed", string.Create(CultureInfo.InvariantCulture, $"{seconds:0.00} s"));
        Row("throughput", string.Create(CultureInfo.InvariantCulture, $"{result.Accepted / seconds:0.0} payloads/s, {result.Bytes / seconds / 1e6:0.00} MB/s"));
        Row("202 latency p50 / p99 / p99.9", string.Create(CultureInfo.InvariantCulture,
            $"{result.Percentile(50):0.0} / {result.Percentile(99):0.0} / {result.Percentile(99.9):0.0} ms"));
        if (problems is not null)
        {
            Row("verify", problems.Count == 0 ? "OK: every accepted payload stored once, in order, identical" : $"{problems.Count} problem(s)");
        }

        AnsiConsole.Write(table);
        foreach (var problem in problems?.Take(50) ?? [])
        {
            Console.Error.WriteLine($"verify: {problem}");
        }
    }
}
