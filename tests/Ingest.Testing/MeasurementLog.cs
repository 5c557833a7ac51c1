using System.Text.Json;

namespace Ingest.Testing;

/// <summary>An absolute measurement (a time, a memory peak) and the upper bound the issue sets for it, if any.</summary>
public sealed record AbsoluteMeasurement(string Scenario, double Value, string Unit, double? Limit, string Detail)
{
    public bool? WithinLimit => Limit is { } limit ? Value <= limit : null;
}

/// <summary>
/// Tests that measure something the benchmark report shows (failover pauses, peak RSS) append it here as one
/// JSON line to the file named by <c>INGEST_MEASUREMENTS</c>; without that variable nothing is written. The
/// harness runs those tests with the variable set and reads the lines back, so a figure in the report is the
/// figure the test measured and asserted on.
/// </summary>
public static class MeasurementLog
{
    public const string Variable = "INGEST_MEASUREMENTS";

    private static readonly Lock Gate = new();

    public static void Record(AbsoluteMeasurement measurement)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path)
        {
            return;
        }

        lock (Gate)
        {
            File.AppendAllText(path, JsonSerializer.Serialize(measurement) + "\n");
        }
    }

    public static IReadOnlyList<AbsoluteMeasurement> Read(string path) =>
        File.Exists(path)
            ? [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<AbsoluteMeasurement>(l)!)]
            : [];
}
