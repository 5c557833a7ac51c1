using System.Diagnostics;
using System.Globalization;
using Ingest.LoadGen;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Benchmarks;

/// <summary>
/// Peak resident memory (VmHWM) of the API under concurrent 100 MiB uploads and of a worker catching up on
/// a backlog, each as its own process so the figure is the service's alone.
/// </summary>
public static class MemoryScenario
{
    public static async Task<List<AbsoluteMeasurement>> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken) =>
        [
            await ApiFloodAsync(stack, options, log, attacks: false, cancellationToken),
            await ApiFloodAsync(stack, options, log, attacks: true, cancellationToken),
            await WorkerCatchUpAsync(stack, options, log, cancellationToken),
        ];

    /// <summary>
    /// Clients each stream one large recording-like payload at once. No worker runs: the API's memory does
    /// not depend on one, and the embedded broker keeps only the newest 5 MiB per partition anyway. With
    /// <paramref name="attacks"/>, another project's key holds the edge issue's attacks open (<see cref="AttackMix"/>) from just
    /// before the flood: the API's memory bound must hold under both at once.
    /// </summary>
    private static async Task<AbsoluteMeasurement> ApiFloodAsync(
        Stack stack, BenchOptions options, TextWriter log, bool attacks, CancellationToken cancellationToken)
    {
        var (clients, size) = options.Smoke ? (4, 8L << 20) : (20, 100L << 20);
        var topic = await stack.TopicAsync("bench-rss-api", cancellationToken);
        var database = await stack.DatabaseAsync(cancellationToken);
        await using var api = await WorkerProcess.StartApiAsync(
            null, [.. stack.ApiArguments(topic, database), .. attacks ? AttackMix.ApiArguments() : []], cancellationToken);
        using var http = new HttpClient { BaseAddress = api.Address, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Stack.Key);

        var attack = attacks ? AttackMix.Start(api.Address, options.Smoke, cancellationToken) : null;
        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            using var content = new RecordingContent(c, size);
            content.Headers.ContentType = new("application/json");
            using var response = await http.PostAsync(new Uri($"/v1/sessions/rss-{c}/payloads?seq=0", UriKind.Relative), content, cancellationToken);
            return (int)response.StatusCode;
        }));
        var elapsed = clock.Elapsed;
        var attackOutcome = attack is null ? null : await attack.OutcomeAsync();
        var peakMiB = api.PeakRssBytes() / (double)(1 << 20);
        var codes = string.Join(", ", answers.GroupBy(a => a).OrderBy(g => g.Key).Select(g => $"{g.Count()}× {g.Key}"));
        var label = string.Create(CultureInfo.InvariantCulture, $"API peak RSS, {clients} concurrent {size >> 20} MiB uploads{(attacks ? " + the edge attacks" : "")}");
        var attacked = attackOutcome is null ? "" : $"; attackers (project attack) answered {attackOutcome}";
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {label}: {peakMiB:0} MiB in {elapsed.TotalSeconds:0.0} s ({codes}{attacked})"));
        if (answers.Any(a => a != 202))
        {
            throw new InvalidOperationException($"{label}: not every upload was accepted ({codes})");
        }

        return new AbsoluteMeasurement(label, peakMiB, "MiB", 256, string.Create(CultureInfo.InvariantCulture,
            $"VmHWM of the API process (dotnet Ingest.Api.dll, defaults); {clients} × 202 in {elapsed.TotalSeconds:0.0} s ({clients * (size >> 20) / elapsed.TotalSeconds:0} MiB/s){attacked}"));
    }

    /// <summary>A backlog of 10 KB payloads produced first, then one worker process started on it, until all are stored.</summary>
    private static async Task<AbsoluteMeasurement> WorkerCatchUpAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        const long Size = 10_000;
        const int Partitions = 48; // ≈ 1 MB of backlog per partition: well inside the embedded broker's retention
        var count = options.Smoke ? 400 : 12_000;
        var topic = await stack.TopicAsync("bench-rss-worker", cancellationToken, Partitions);
        var payloads = new List<(byte[] Payload, byte[] Encoded)>();
        for (var i = 0; i < 16; i++)
        {
            var payload = await BenchMessages.ContentAsync(Size, 200 + i, cancellationToken);
            payloads.Add((payload, Ingest.Contracts.Codec.PayloadCodec.Encode(payload)));
        }

        using (var producer = BenchMessages.Producer(stack))
        {
            for (var i = 0; i < count; i++)
            {
                var (payload, encoded) = payloads[i % payloads.Count];
                producer.Produce(topic, BenchMessages.Build($"c{i % 256}", i / 256, payload, encoded));
            }

            producer.Flush(cancellationToken);
        }

        stack.AssertRetained(topic, Partitions);

        var database = await stack.DatabaseAsync(cancellationToken);
        var clock = Stopwatch.StartNew();
        await using var worker = await WorkerProcess.StartAsync(stack.WorkerArguments(topic, database), cancellationToken);
        await using (var source = NpgsqlDataSource.Create(database))
        {
            var until = DateTime.UtcNow.AddMinutes(5);
            while ((long)(await source.CreateCommand("SELECT count(*) FROM ingest.payloads").ExecuteScalarAsync(cancellationToken))! < count)
            {
                if (DateTime.UtcNow > until || worker.HasExited)
                {
                    throw new TimeoutException($"the worker did not store the {count}-payload backlog within 5 minutes:\n{worker.Output}");
                }

                await Task.Delay(100, cancellationToken); // polling a condition with a deadline
            }
        }

        var elapsed = clock.Elapsed;
        var peakMiB = worker.PeakRssBytes() / (double)(1 << 20);
        var label = string.Create(CultureInfo.InvariantCulture, $"worker peak RSS, catching up {count} × 10 KB");
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {label}: {peakMiB:0} MiB, all stored {elapsed.TotalSeconds:0.0} s after start"));
        return new AbsoluteMeasurement(label, peakMiB, "MiB", null, string.Create(CultureInfo.InvariantCulture,
            $"VmHWM of the worker process (defaults); process start → all {count} stored in {elapsed.TotalSeconds:0.0} s ({count / elapsed.TotalSeconds:0} payloads/s incl. start-up and group join)"));
    }
}
