using System.Globalization;

namespace Ingest.Benchmarks;

/// <summary>
/// <c>--smoke</c> (seconds, to prove the harness works), <c>--out DIR</c>, <c>--only NAME,…</c>, <c>--no-guard</c> (the
/// API-only scenarios leave the backlog guard as the topic sets it: off on a real broker's topic without retention.bytes).
/// </summary>
public sealed record BenchOptions(bool Smoke, string OutputDirectory, IReadOnlySet<string> Only, bool GuardBookkeeping = true)
{
    /// <summary>How long one rate measurement runs.</summary>
    public TimeSpan RateDuration => Smoke ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(15);

    /// <summary>wrk connection counts tried per rate scenario; the peak is reported.</summary>
    public int[] Concurrencies => Smoke ? [16] : [16, 64, 256];

    public bool Runs(string scenario) => Only.Count == 0 || Only.Contains(scenario);

    public static bool TryParse(string[] args, out BenchOptions? options, out string? error)
    {
        options = null;
        error = null;
        var smoke = false;
        var output = Path.Combine("tests", ".state", "bench", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        var only = new HashSet<string>(StringComparer.Ordinal);
        var guard = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--smoke":
                    smoke = true;
                    break;
                case "--out" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--no-guard":
                    guard = false;
                    break;
                case "--only" when i + 1 < args.Length:
                    only.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                default:
                    error = $"unknown or incomplete argument '{args[i]}' (expected --smoke, --out DIR, --only api,producer,worker,latency,memory,failover, --no-guard)";
                    return false;
            }
        }

        string[] known = ["api", "producer", "worker", "latency", "memory", "failover"];
        if (only.FirstOrDefault(o => !known.Contains(o)) is { } unknown)
        {
            error = $"unknown scenario '{unknown}' in --only (known: {string.Join(',', known)})";
            return false;
        }

        options = new BenchOptions(smoke, output, only, guard);
        return true;
    }
}
