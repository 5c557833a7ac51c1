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
        var brokerBefore = EmbeddedBrokerCpu();
        var machineBefore = MachineBusy();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start wrk");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var wall = clock.Elapsed.TotalSeconds;
        self.Refresh();
        var serverCores = (self.TotalProcessorTime - serverBefore).TotalSeconds / wall;
        var machineCores = (MachineBusy() - machineBefore).TotalSeconds / wall;
        var brokerCores = (EmbeddedBrokerCpu() - brokerBefore).TotalSeconds / wall;
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

    /// <summary>CPU time of this process's embedded-broker threads (librdkafka names the mock cluster's thread <c>rdk:mock</c>).</summary>
    private static TimeSpan EmbeddedBrokerCpu()
    {
        var ticks = 0L;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == "rdk:mock")
                {
                    // Fields after the parenthesised name: state is field 3, utime 14 and stime 15 of /proc/.../stat.
                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
    }

    /// <summary>Busy CPU time of the whole machine so far (user, nice, system, irq, softirq, steal from /proc/stat).</summary>
    private static TimeSpan MachineBusy()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ticks = new[] { 1, 2, 3, 6, 7, 8 }.Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
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
