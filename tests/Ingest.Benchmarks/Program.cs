using System.Globalization;
using System.Runtime.InteropServices;
using Ingest.Testing;

namespace Ingest.Benchmarks;

/// <summary>
/// The benchmark harness: every scenario beside its baseline, measured in the same run on the same
/// broker and database. <c>bash tests/bench.sh [--smoke] [--out DIR] [--only api,producer,worker,latency,memory,failover,expiry,scaling] [--expiry-rows N]</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (!BenchOptions.TryParse(args, out var options, out var error))
        {
            await Console.Error.WriteLineAsync($"ingest-bench: {error}");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        var ct = cancel.Token;
        var log = Console.Out;
        await using var stack = await Stack.StartAsync(options!.GuardBookkeeping);
        if (!options.GuardBookkeeping && stack.Kafka.IsMock)
        {
            await Console.Error.WriteLineAsync(
                "ingest-bench: --no-guard needs a real broker (Kafka__BootstrapServers): on the embedded broker the guard is always on, and no worker stores in the API scenarios");
            return 2;
        }

        var machine = string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, broker: {stack.BrokerDescription}");
        await log.WriteLineAsync($"ingest-bench: {(options!.Smoke ? "smoke" : "full")} run on {machine}");

        var measurements = new List<Measurement>();
        var latencies = new List<LatencyMeasurement>();
        var absolutes = new List<AbsoluteMeasurement>();
        var api = options.Runs("api") ? await ApiScenario.RunAsync(stack, options, log, ct) : [];
        var (producer, costs) = options.Runs("producer") ? await ProducerScenario.RunAsync(stack, options, log, ct) : ([], []);
        measurements.AddRange(api.Select(run => ApiScenario.WithCeiling(run, costs)));
        measurements.AddRange(producer);

        if (options.Runs("worker"))
        {
            measurements.AddRange(await WorkerScenario.RunAsync(stack, options, log, ct));
        }

        if (options.Runs("latency"))
        {
            var (latency, rate) = await LatencyScenario.RunAsync(stack, options, log, ct);
            latencies.Add(latency);
            measurements.Add(rate);
        }

        if (options.Runs("memory"))
        {
            absolutes.AddRange(await MemoryScenario.RunAsync(stack, options, log, ct));
        }

        var notes = new List<string>();
        if (options.Runs("expiry"))
        {
            var expiry = await ExpiryScenario.RunAsync(stack, options, log, ct);
            latencies.AddRange(expiry.Latencies);
            absolutes.AddRange(expiry.Absolutes);
            notes.AddRange(expiry.Notes);
        }

        ScalingReport? scaling = null;
        if (options.Runs("scaling"))
        {
            scaling = await ScalingScenario.RunAsync(stack, options, log, ct);
        }

        var failed = false;
        if (options.Runs("failover") && !options.Smoke)
        {
            try
            {
                absolutes.AddRange(await FailoverScenario.RunAsync(log, ct));
            }
            catch (InvalidOperationException ex)
            {
                // The other scenarios' results are kept: the report says what failed, and the run exits 1.
                await Console.Error.WriteLineAsync($"ingest-bench: failover scenario failed: {ex.Message}");
                notes.Add($"The failover scenario failed: {ex.Message}");
                failed = true;
            }
        }

        var command = "bash tests/bench.sh " + string.Join(' ', args);
        await ReportWriter.WriteAsync(options.OutputDirectory, machine, command.Trim(), measurements, latencies, absolutes, notes, scaling, ct);
        await log.WriteLineAsync($"ingest-bench: report in {Path.GetFullPath(options.OutputDirectory)}");
        return failed ? 1 : 0;
    }
}
