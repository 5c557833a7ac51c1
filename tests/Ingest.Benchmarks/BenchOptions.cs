using System.Globalization;

namespace Ingest.Benchmarks;

/// <summary>
/// <c>--smoke</c> (seconds, to prove the harness works), <c>--out DIR</c>, <c>--only NAME,…</c>, <c>--no-guard</c> (the
/// API-only scenarios leave the backlog guard as the topic sets it: off on a real broker's topic without retention.bytes),
/// <c>--expiry-rows N</c> (stored rows the expiry scenario expires; default 3,000,000, 20,000 in a smoke run).
/// </summary>
public sealed record BenchOptions(bool Smoke, string OutputDirectory, IReadOnlySet<string> Only, bool GuardBookkeeping = true, long? ExpiryRowsSet = null)
{
    /// <summary>Stored rows the expiry scenario pre-fills and expires.</summary>
    public long ExpiryRows => ExpiryRowsSet ?? (Smoke ? 20_000 : 3_000_000);

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
        long? expiryRows = null;
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
                case "--expiry-rows" when i + 1 < args.Length:
                    if (!long.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var rows) || rows is < 1000 or > 100_000_000)
                    {
                        error = $"--expiry-rows must be a whole number from 1000 to 100000000, not '{args[i]}'";
                        return false;
                    }

                    expiryRows = rows;
                    break;
                case "--only" when i + 1 < args.Length:
                    only.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                default:
                    error = $"unknown or incomplete argument '{args[i]}' (expected --smoke, --out DIR, --only api,producer,worker,latency,memory,failover,expiry,scaling, --no-guard, --expiry-rows N)";
                    return false;
            }
        }

        string[] known = ["api", "producer", "worker", "latency", "memory", "failover", "expiry", "scaling"];
        if (only.FirstOrDefault(o => !known.Contains(o)) is { } unknown)
        {
            error = $"unknown scenario '{unknown}' in --only (known: {string.Join(',', known)})";
            return false;
        }

        options = new BenchOptions(smoke, output, only, guard, expiryRows);
        return true;
    }
}
