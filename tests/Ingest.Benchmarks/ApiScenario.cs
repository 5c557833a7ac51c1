using System.Globalization;
using Ingest.Contracts.Chunking;
using Ingest.LoadGen;

namespace Ingest.Benchmarks;

/// <summary>One API row, with what its ceiling needs: the payload's size and the baseline's machine CPU per request.</summary>
public sealed record ApiRun(Measurement Measurement, long Size, double BaselineMicroseconds);

/// <summary>
/// API ingest vs bare Kestrel (1 KB: reads the body, answers 202) and vs Kestrel + LZ4 (100 KB, 10 MB:
/// the HTTP + compression ceiling, no Kafka); each at the wrk concurrency where it peaks.
/// </summary>
public static class ApiScenario
{
    public static async Task<List<ApiRun>> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var results = new List<ApiRun>();
        (string Name, long Size, bool Compress, string Unit, double? Target, int[] Concurrency)[] cases =
        [
            ("1 KB", 1000, false, "payloads/s", 0.6, options.Concurrencies),
            ("100 KB", 100_000, true, "MB/s", 0.9, options.Concurrencies),
            ("10 MB", 10_000_000, true, "MB/s", 0.95, options.Smoke ? [2] : [4, 16]),
        ];
        foreach (var (name, size, compress, unit, target, concurrency) in cases)
        {
            var body = Path.Combine(Path.GetTempPath(), $"ingest-bench-{size}.json");
            await using (var file = File.Create(body))
            {
                await RecordingContent.WriteAsync(11, size, file, cancellationToken);
            }

            var topic = await stack.TopicAsync("bench-api", cancellationToken);
            var database = await stack.DatabaseAsync(cancellationToken);
            await using var api = await stack.StartApiAsync(topic, database, cancellationToken);
            var ingest = await PeakAsync(Stack.Address(api), body, concurrency, options, log, $"api {name}", cancellationToken);
            await api.StopAsync(cancellationToken);

            await using var baselineServer = await BaselineServer.StartAsync(compress, cancellationToken);
            var baseline = await PeakAsync(BaselineServer.Address(baselineServer), body, concurrency, options, log, $"kestrel {name}", cancellationToken);
            await baselineServer.StopAsync(cancellationToken);

            double Value(Wrk.Result r) => unit == "MB/s" ? r.BytesPerSecond / 1e6 : r.RequestsPerSecond;
            results.Add(new ApiRun(new Measurement(
                $"API ingest {name}", unit, Value(ingest.Result), Value(baseline.Result),
                compress ? $"Kestrel + LZ4 {name}" : $"bare Kestrel {name}", target,
                string.Create(CultureInfo.InvariantCulture,
                    $"API peak at {ingest.Connections} connections (p50 {ingest.Result.P50Ms:0.0} ms, p99 {ingest.Result.P99Ms:0.0} ms, {ingest.Result.Errors} non-202; CPU: API {ingest.Result.ServerCores - ingest.Result.BrokerCores:0.00} + embedded broker {ingest.Result.BrokerCores:0.00} cores, machine {ingest.Result.MachineCores:0.00} of {Environment.ProcessorCount}); " +
                    $"baseline peak at {baseline.Connections} (p99 {baseline.Result.P99Ms:0.0} ms; CPU: server {baseline.Result.ServerCores:0.00}, machine {baseline.Result.MachineCores:0.00}); " +
                    $"the machine's CPU per request (wrk included): API {PerRequest(ingest.Result):0} µs, baseline {PerRequest(baseline.Result):0} µs")),
                size, PerRequest(baseline.Result)));
        }

        return results;
    }

    /// <summary>
    /// <paramref name="run"/>'s row with its ceiling when the producer scenario measured the messages it takes: the ratio a
    /// server doing the baseline's work plus what producing adds to it (<see cref="ProducerCost.Kafka"/> per message; a payload
    /// larger than a chunk as whole chunks) would reach with every core busy — baseline ÷ (baseline + producing).
    /// </summary>
    public static Measurement WithCeiling(ApiRun run, IReadOnlyList<ProducerCost> costs)
    {
        var chunk = PayloadChunking.DefaultChunkBytes;
        var (messages, size) = run.Size <= chunk ? (1L, run.Size) : ((run.Size + chunk - 1) / chunk, (long)chunk);
        if (costs.FirstOrDefault(c => c.Size == size) is not { } cost || run.BaselineMicroseconds <= 0)
        {
            return run.Measurement;
        }

        var kafka = messages * cost.Kafka;
        var ceiling = run.BaselineMicroseconds / (run.BaselineMicroseconds + kafka);
        return run.Measurement with
        {
            Detail = run.Measurement.Detail + string.Create(CultureInfo.InvariantCulture,
                $"; ceiling {ceiling:0.00}: the baseline's {run.BaselineMicroseconds:0} µs per request plus what producing adds, {(messages == 1 ? "" : $"{messages} × ")}" +
                $"(producer {cost.Producer:0.0} − LZ4 {cost.Encode:0.0} + broker {(cost.Broker is { } b ? b.ToString("0.0", CultureInfo.InvariantCulture) : "n/a")}) = {kafka:0} µs, with every core busy"),
        };
    }

    /// <summary>Busy CPU of the whole machine per request: on a machine whose cores are all busy, rates go as its inverse.</summary>
    private static double PerRequest(Wrk.Result result) => result.RequestsPerSecond > 0 ? result.MachineCores / result.RequestsPerSecond * 1e6 : 0;

    private static async Task<(Wrk.Result Result, int Connections)> PeakAsync(
        Uri server, string body, int[] concurrency, BenchOptions options, TextWriter log, string label, CancellationToken cancellationToken)
    {
        (Wrk.Result Result, int Connections)? best = null;
        foreach (var connections in concurrency)
        {
            var result = await Wrk.RunAsync(server, body, Stack.Key, connections, options.RateDuration, cancellationToken);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  {label,-16} c={connections,-4} {result.RequestsPerSecond,10:0.0} req/s {result.BytesPerSecond / 1e6,8:0.0} MB/s p99 {result.P99Ms,7:0.0} ms non-202 {result.Errors} CPU server {result.ServerCores:0.00} (broker {result.BrokerCores:0.00}) machine {result.MachineCores:0.00}"));
            if (best is null || result.RequestsPerSecond > best.Value.Result.RequestsPerSecond)
            {
                best = (result, connections);
            }
        }

        return best!.Value;
    }
}
