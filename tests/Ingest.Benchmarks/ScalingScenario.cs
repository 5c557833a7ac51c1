using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Benchmarks;

/// <summary>
/// Issue 18's scaling scenario: the same pre-filled backlog of 10 KB payloads drained by 1, 2 and 4 worker replicas, each a
/// separate process, in a fresh consumer group on a fresh database; the CPU each replica, Postgres and the broker used
/// while they drained it; and the API's CPU per payload from a short <c>wrk</c> run. <see cref="ScalingReport"/> turns the
/// costs into a capacity estimate.
/// </summary>
public static class ScalingScenario
{
    private const long Size = 10_000;

    public static async Task<ScalingReport> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        // The embedded broker keeps ~5 MiB per partition: 640 payloads of 10 KB (LZ4 ≈ 4.8 KB each) are ≈ 3 MB. Each session
        // is produced to partition (session mod partitions), so every partition holds exactly PerPartition and every replica
        // gets an equal share; a real broker keeps it all the same.
        var (partitions, perPartition, sessionsPerPartition) = options.Smoke ? (8, 50, 2) : (48, 640, 8);
        int[] replicaCounts = options.Smoke ? [1, 2] : [1, 2, 4];
        var topic = await stack.TopicAsync("bench-scaling", cancellationToken, partitions);
        var total = await FillAsync(stack, topic, partitions, perPartition, sessionsPerPartition, cancellationToken);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"  scaling: {total} payloads of 10 KB on {partitions} partitions; replicas {string.Join(", ", replicaCounts)}"));

        var broker = BrokerProbe.For(stack);
        var runs = new List<ScalingRun>();
        foreach (var replicas in replicaCounts)
        {
            stack.AssertRetained(topic, partitions);
            var run = await DrainAsync(stack, topic, total, replicas, broker, cancellationToken);
            runs.Add(run);
            await log.WriteLineAsync(run.Summary());
        }

        var api = await ApiCostAsync(stack, options, broker, cancellationToken);
        await log.WriteLineAsync(api.Summary());
        return new ScalingReport(total, partitions, stack.BrokerDescription, broker.Description, runs, api);
    }

    private static async Task<long> FillAsync(
        Stack stack, string topic, int partitions, int perPartition, int sessionsPerPartition, CancellationToken cancellationToken)
    {
        var payloads = new List<(byte[] Payload, byte[] Encoded)>();
        for (var i = 0; i < 16; i++)
        {
            var payload = await BenchMessages.ContentAsync(Size, 300 + i, cancellationToken);
            payloads.Add((payload, Ingest.Contracts.Codec.PayloadCodec.Encode(payload)));
        }

        var sessions = partitions * sessionsPerPartition;
        var perSession = perPartition / sessionsPerPartition;
        using var producer = BenchMessages.Producer(stack);
        for (var seq = 0; seq < perSession; seq++)
        {
            for (var session = 0; session < sessions; session++)
            {
                var (payload, encoded) = payloads[((seq * sessions) + session) % payloads.Count];
                producer.Produce(new TopicPartition(topic, new Partition(session % partitions)), BenchMessages.Build($"s{session}", seq, payload, encoded));
            }
        }

        producer.Flush(cancellationToken);
        return (long)sessions * perSession;
    }

    /// <summary>
    /// Starts the replicas side by side and opens the CPU window once all of them answer /healthz (their start-up — JIT,
    /// configuration, the schema check — is not a per-payload cost); payloads stored before that are left out of the costs.
    /// </summary>
    private static async Task<ScalingRun> DrainAsync(
        Stack stack, string topic, long total, int replicas, BrokerProbe broker, CancellationToken cancellationToken)
    {
        var database = await stack.DatabaseAsync(cancellationToken);
        var postgres = await PostgresCpu.FindAsync(database, cancellationToken);
        string[] args = [.. stack.WorkerArguments(topic, database), $"--Worker:GroupId=bench-{topic}-x{replicas}"];
        var started = Stopwatch.StartNew();
        var workers = await Task.WhenAll(Enumerable.Range(0, replicas).Select(_ => WorkerProcess.StartAsync(args, cancellationToken)));
        try
        {
            await using var source = NpgsqlDataSource.Create(database);
            await using var poll = await source.OpenConnectionAsync(cancellationToken);
            postgres?.Exclude(poll.ProcessID);
            var before = Window.Take(workers, broker, await CountAsync(poll, cancellationToken));
            postgres?.Sample(first: true);
            var until = DateTime.UtcNow.AddMinutes(5);
            var polls = 0;
            long stored;
            while ((stored = await CountAsync(poll, cancellationToken)) < total)
            {
                if (DateTime.UtcNow > until || workers.FirstOrDefault(w => w.HasExited) is { } exited)
                {
                    throw new TimeoutException(
                        $"{replicas} replicas stored {stored} of {total} payloads in 5 minutes (or one exited):\n{workers[0].Output}");
                }

                if (++polls % 5 == 0)
                {
                    postgres?.Sample();
                }

                await Task.Delay(100, cancellationToken); // polling a condition with a deadline
            }

            var allSeen = DateTimeOffset.UtcNow;
            var after = Window.Take(workers, broker, stored);
            postgres?.Sample();
            var drained = started.Elapsed;
            await Task.WhenAll(workers.Select(w => w.TerminateAsync(TimeSpan.FromSeconds(30))));
            var (rate, seconds) = await RateAsync(source, allSeen, cancellationToken);
            return new ScalingRun(
                replicas, total, rate, seconds, (after.At - before.At).TotalSeconds, after.Stored - before.Stored,
                [.. after.Replicas.Zip(before.Replicas, (a, b) => (a - b).TotalSeconds)],
                postgres?.Used.TotalSeconds, after.Broker is { } b1 && before.Broker is { } b0 ? (b1 - b0).TotalSeconds : null,
                (after.Machine - before.Machine).TotalSeconds, drained.TotalSeconds);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            await stack.DropDatabaseAsync(database, cancellationToken);
        }
    }

    /// <summary>The API's CPU per payload: wrk posts 10 KB recording-like payloads to the API in this process for a while.</summary>
    private static async Task<ApiCost> ApiCostAsync(Stack stack, BenchOptions options, BrokerProbe broker, CancellationToken cancellationToken)
    {
        const int Connections = 16;
        var body = Path.Combine(Path.GetTempPath(), $"ingest-bench-scaling-{Size}.json");
        await using (var file = File.Create(body))
        {
            await Ingest.LoadGen.RecordingContent.WriteAsync(11, Size, file, cancellationToken);
        }

        var topic = await stack.TopicAsync("bench-scaling-api", cancellationToken);
        var database = await stack.DatabaseAsync(cancellationToken);
        await using var api = await stack.StartApiAsync(topic, database, cancellationToken);
        var duration = options.Smoke ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10);
        var brokerBefore = broker.Read();
        var clock = Stopwatch.StartNew();
        var result = await Wrk.RunAsync(Stack.Address(api), body, Stack.Key, Connections, duration, cancellationToken);
        var wall = clock.Elapsed.TotalSeconds;
        var brokerCores = broker.Read() is { } b1 && brokerBefore is { } b0 ? (b1 - b0).TotalSeconds / wall : (double?)null;
        await api.StopAsync(cancellationToken);
        await stack.DropDatabaseAsync(database, cancellationToken);
        // In this process: the API and, on the embedded broker, the broker's thread (Wrk separates it).
        return new ApiCost(result.RequestsPerSecond, result.ServerCores - result.BrokerCores, brokerCores, result.MachineCores, Connections,
            duration.TotalSeconds, result.Errors, result.P99Ms);
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var count = new NpgsqlCommand("SELECT count(*) FROM ingest.payloads", connection);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Payloads per second from the start of the first storing transaction (the first <c>stored_at</c>) to when all were seen
    /// committed (polled every 100 ms), and that time in seconds. Not to the last <c>stored_at</c>: that is the last
    /// transaction's start, and a shared transaction holds up to 2,000 payloads.
    /// </summary>
    private static async Task<(double Rate, double Seconds)> RateAsync(NpgsqlDataSource source, DateTimeOffset allSeen, CancellationToken cancellationToken)
    {
        await using var reader = await source.CreateCommand("SELECT count(*), min(stored_at) FROM ingest.payloads").ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var rows = reader.GetInt64(0);
        var seconds = (allSeen - reader.GetFieldValue<DateTimeOffset>(1)).TotalSeconds;
        return (seconds > 0 ? rows / seconds : 0, seconds);
    }

    /// <summary>One end of the CPU window: when, payloads stored, CPU so far of each replica, the broker and the machine.</summary>
    private sealed record Window(DateTime At, long Stored, TimeSpan[] Replicas, TimeSpan? Broker, TimeSpan Machine)
    {
        public static Window Take(WorkerProcess[] workers, BrokerProbe broker, long stored) =>
            new(DateTime.UtcNow, stored, [.. workers.Select(w => ProcessCpu.OfProcess(w.Id) ?? TimeSpan.Zero)], broker.Read(), ProcessCpu.MachineBusy());
    }
}
