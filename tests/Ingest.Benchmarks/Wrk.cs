using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Ingest.Benchmarks;

/// <summary>
/// Drives an HTTP endpoint with <c>wrk</c> (a separate, C-coded load generator, so the client is not
/// the bottleneck): every request posts the same body to a new (session, seq).
/// </summary>
public static partial class Wrk
{
    private const string Script = """
        local counter = 0
        local body, key
        function setup(thread) thread:set("tid", tostring(math.random(1, 1000000000))) end
        function init(args)
          local f = assert(io.open(args[1], "rb")); body = f:read("*a"); f:close(); key = args[2]
        end
        function request()
          counter = counter + 1
          local path = "/v1/sessions/w" .. tid .. "-" .. (counter % 512) .. "/payloads?seq=" .. counter
          return wrk.format("POST", path, {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
        end
        """;

    /// <summary>One wrk run: good (202) requests per second and bytes per second, latency, and where the CPU went.</summary>
    /// <param name="RequestsPerSecond">202 answers per second.</param>
    /// <param name="BytesPerSecond">Payload bytes of the 202 answers per second.</param>
    /// <param name="Requests">Requests sent.</param>
    /// <param name="Errors">Non-202 answers and socket errors.</param>
    /// <param name="P50Ms">Median latency, ms.</param>
    /// <param name="P99Ms">99th percentile latency, ms.</param>
    /// <param name="ServerCores">CPU of this process (server under test, and the embedded broker when it runs here) in cores.</param>
    /// <param name="BrokerCores">Of <paramref name="ServerCores"/>, the embedded broker's thread (librdkafka's <c>rdk:mock</c>), in cores.</param>
    /// <param name="MachineCores">CPU busy on the whole machine in cores (server, broker, wrk, anything else).</param>
    public sealed record Result(
        double RequestsPerSecond, double BytesPerSecond, long Requests, long Errors, double P50Ms, double P99Ms,
        double ServerCores, double BrokerCores, double MachineCores);

    public static async Task<Result> RunAsync(
        Uri server, string bodyFile, string key, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var script = Path.Combine(Path.GetTempPath(), "ingest-bench.lua");
        await File.WriteAllTextAsync(script, Script, cancellationToken);
        var seconds = ((int)Math.Ceiling(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var start = new ProcessStartInfo("wrk",
            ["-t2", $"-c{connections}", $"-d{seconds}s", "--latency", "--timeout", "30s", "-s", script, server.ToString(), "--", bodyFile, key])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var self = Process.GetCurrentProcess();
        var serverBefore = self.TotalProcessorTime;
        var brokerBefore = ProcessCpu.ThreadsOfSelf("rdk:mock");
        var machineBefore = ProcessCpu.MachineBusy();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start wrk");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var wall = clock.Elapsed.TotalSeconds;
        self.Refresh();
        var serverCores = (self.TotalProcessorTime - serverBefore).TotalSeconds / wall;
        var machineCores = (ProcessCpu.MachineBusy() - machineBefore).TotalSeconds / wall;
        var brokerCores = (ProcessCpu.ThreadsOfSelf("rdk:mock") - brokerBefore).TotalSeconds / wall;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk failed: {await process.StandardError.ReadToEndAsync(cancellationToken)}{output}");
        }

        var requests = long.Parse(RequestsLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var errors = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        errors += SocketErrors().Matches(output).Sum(x => long.Parse(x.Groups[1].Value, CultureInfo.InvariantCulture));
        var rps = double.Parse(Rps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var bodyBytes = new FileInfo(bodyFile).Length;
        var good = requests == 0 ? 0 : rps * (requests - errors) / requests;
        return new Result(good, good * bodyBytes, requests, errors, Percentile(output, "50%"), Percentile(output, "99%"), serverCores, brokerCores, machineCores);
    }

    private static double Percentile(string output, string label)
    {
        var match = Regex.Match(output, $@"^\s+{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"(?:connect|read|write|timeout) (\d+)")]
    private static partial Regex SocketErrors();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rps();
}
