using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Ingest.Contracts.Envelope;
using Ingest.Worker.Consuming;
using Npgsql;
using NpgsqlTypes;

namespace Ingest.Benchmarks;

/// <summary>
/// Worker store rate on a pre-filled topic vs raw binary COPY (no idempotence) of the same rows into an
/// identically configured table. The backlog per partition stays under the mock cluster's 5 MiB.
/// </summary>
public static class WorkerScenario
{
    /// <summary>The retention the worker gives payloads by default (<c>Ingest:Lifecycle:DefaultRetention</c>).</summary>
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    public static async Task<List<Measurement>> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var results = new List<Measurement>();
        foreach (var (name, size, count) in new[] { ("10 KB", 10_000L, options.Smoke ? 300 : 18_000), ("100 KB", 100_000L, options.Smoke ? 60 : 2_000) })
        {
            var payloads = new List<(byte[] Payload, byte[] Encoded)>();
            for (var i = 0; i < 16; i++)
            {
                var payload = await BenchMessages.ContentAsync(size, 100 + i, cancellationToken);
                payloads.Add((payload, Ingest.Contracts.Codec.PayloadCodec.Encode(payload)));
            }

            var messages = Enumerable.Range(0, count)
                .Select(i => BenchMessages.Build($"w{i % 256}", i / 256, payloads[i % 16].Payload, payloads[i % 16].Encoded))
                .ToList();

            // A short run on 2 shared cores moves by ±25 % from one run to the next: three rounds of worker then COPY, the
            // round with the median ratio reported. Before them one round not counted: a round lasts a second or two, and
            // the first one in a process spends a good part of it compiling the worker's code (the JIT's tiering), which a
            // worker that has run for a minute no longer does — nor does the COPY loop, whose code is a few lines.
            var broker = BrokerProbe.For(stack);
            var rounds = new List<Round>();
            for (var round = options.Smoke ? 1 : 0; round <= (options.Smoke ? 1 : 3); round++)
            {
                var r = await RoundAsync(stack, broker, messages, cancellationToken);
                if (round > 0)
                {
                    rounds.Add(r);
                }

                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  worker {name,-8} {r.Worker,10:0.0} rows/s; binary COPY {r.Copy,10:0.0} rows/s; ratio {r.Ratio:0.00}{(round == 0 ? " (warm-up, not counted)" : "")}"));
                await log.WriteLineAsync($"    worker phase: {r.WorkerCpu}");
                await log.WriteLineAsync($"    COPY phase:   {r.CopyCpu}");
                await log.WriteLineAsync($"    bare consume: {r.ConsumeCpu}; ceiling {r.Ceiling:0.00}");
                await log.WriteLineAsync($"    worker phase, this process's threads (CPU-ms per 1,000 rows): {r.WorkerCpu.Threads}");
            }

            var median = rounds.OrderBy(r => r.Ratio).ElementAt(rounds.Count / 2);
            results.Add(new Measurement(
                $"worker store {name}", "MB/s", median.Worker * size / 1e6, median.Copy * size / 1e6, $"raw binary COPY {name}",
                size >= 100_000 ? 0.85 : 0.6,
                string.Create(CultureInfo.InvariantCulture,
                    $"{count} payloads, 48 partitions; median of {rounds.Count} rounds (ratios {string.Join(", ", rounds.Select(r => r.Ratio.ToString("0.00", CultureInfo.InvariantCulture)))}); worker {median.Worker:0} payloads/s, COPY {median.Copy:0} rows/s (500 rows per COPY); that round's CPU — worker phase: {median.WorkerCpu}; COPY phase: {median.CopyCpu}; a bare consumer reading the backlog: {median.ConsumeCpu}; so a worker adding nothing to COPY but the read from Kafka would reach {(median.Ceiling is { } c ? c.ToString("0.00", CultureInfo.InvariantCulture) : "n/a")} on all cores busy ({broker.Description})")));
        }

        return results;
    }

    /// <summary>One round: the backlog produced to a fresh topic, stored by a worker, then COPYed into another fresh database.</summary>
    private static async Task<Round> RoundAsync(
        Stack stack, BrokerProbe broker, List<Message<byte[], byte[]>> messages, CancellationToken cancellationToken)
    {
        // 48 partitions keep each one's backlog under 4 MB, inside the embedded broker's 5 MiB.
        const int Partitions = 48;
        var topic = await stack.TopicAsync("bench-worker", cancellationToken, Partitions);
        using (var producer = BenchMessages.Producer(stack))
        {
            foreach (var message in messages)
            {
                producer.Produce(topic, message);
            }

            producer.Flush(cancellationToken);
        }

        stack.AssertRetained(topic, Partitions);

        var database = await stack.DatabaseAsync(cancellationToken);
        var postgres = await PostgresCpu.FindAsync(database, cancellationToken);
        DateTimeOffset allStored;
        Cpu workerCpu;
        await using (var worker = await stack.StartWorkerAsync(topic, database, cancellationToken))
        {
            (allStored, workerCpu) = await WaitForRowsAsync(database, messages.Count, postgres, broker, TimeSpan.FromMinutes(5), cancellationToken);
            await worker.StopAsync(cancellationToken);
        }

        var workerRate = await RateAsync(database, allStored, cancellationToken);
        await stack.DropDatabaseAsync(database, cancellationToken);
        var consumeCpu = await Task.Run(() => BareConsume(stack, topic, Partitions, messages.Count, broker, cancellationToken), cancellationToken);
        var copyDatabase = await stack.DatabaseAsync(cancellationToken);
        var (copyRate, copyCpu) = await CopyRateAsync(copyDatabase, messages, cancellationToken);
        await stack.DropDatabaseAsync(copyDatabase, cancellationToken);
        return new Round(workerRate, copyRate, workerCpu, copyCpu, consumeCpu);
    }

    /// <summary>
    /// What reading the backlog from Kafka costs with nothing else done: a bare consumer (the worker's fetch settings, no
    /// group: every partition assigned from the start) takes every message into managed memory. The COPY baseline reads
    /// nothing from Kafka; this is the least the worker must add to it.
    /// </summary>
    private static Cpu BareConsume(Stack stack, string topic, int partitions, int count, BrokerProbe broker, CancellationToken cancellationToken)
    {
        var config = stack.Kafka.Configure(new ConsumerConfig { GroupId = $"bare-{topic}", EnableAutoCommit = false });
        config.Set("queued.max.messages.kbytes", KafkaOptions.PrefetchKilobytes.ToString(CultureInfo.InvariantCulture)); // the worker's prefetch
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        // From before the assignment: librdkafka fetches ahead (up to queued.max.messages.kbytes) as soon as it has one.
        var first = CpuMark.Take(broker, 0);
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var deadline = DateTime.UtcNow.AddMinutes(2);
        for (var read = 0; read < count;)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"a bare consumer read {read} of {count} messages of {topic} in 2 minutes");
            }

            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not null)
            {
                read++;
            }
        }

        return Cpu.Between(first, CpuMark.Take(broker, count), postgres: null);
    }

    /// <summary>
    /// Polls (every 20 ms) until <paramref name="count"/> rows are committed; returns when it saw them, with the CPU spent
    /// from the first committed row to then (the group join before it is left out).
    /// </summary>
    private static async Task<(DateTimeOffset AllSeen, Cpu Cpu)> WaitForRowsAsync(
        string database, long count, PostgresCpu? postgres, BrokerProbe broker, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        await using var source = NpgsqlDataSource.Create(database);
        await using var poll = await source.OpenConnectionAsync(cancellationToken);
        postgres?.Exclude(poll.ProcessID);
        await using var counting = new NpgsqlCommand("SELECT count(*) FROM ingest.payloads", poll);
        CpuMark? first = null;
        long seen;
        while ((seen = (long)(await counting.ExecuteScalarAsync(cancellationToken))!) < count)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the worker did not store {count} payloads within {deadline}");
            }

            if (seen > 0)
            {
                if (first is null)
                {
                    postgres?.Sample(first: true);
                    first = CpuMark.Take(broker, seen);
                }
                else
                {
                    postgres?.Sample();
                }
            }

            await Task.Delay(20, cancellationToken);
        }

        var allSeen = DateTimeOffset.UtcNow;
        var last = CpuMark.Take(broker, seen);
        return (allSeen, Cpu.Between(first ?? last, last, postgres));
    }

    /// <summary>
    /// Rows per second from the start of the first storing transaction (its <c>stored_at</c>, after the group join) to the
    /// moment all rows were seen committed. Not first to last <c>stored_at</c>: that is each transaction's start, and with
    /// transactions of up to 2,000 rows it would leave the last one's work out.
    /// </summary>
    private static async Task<double> RateAsync(string database, DateTimeOffset allStored, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(database);
        await using var reader = await source.CreateCommand("SELECT count(*), min(stored_at) FROM ingest.payloads").ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var seconds = (allStored - reader.GetFieldValue<DateTimeOffset>(1)).TotalSeconds;
        return seconds > 0 ? reader.GetInt64(0) / seconds : 0;
    }

    private static async Task<(double Rate, Cpu Cpu)> CopyRateAsync(string database, List<Message<byte[], byte[]>> messages, CancellationToken cancellationToken)
    {
        var postgres = await PostgresCpu.FindAsync(database, cancellationToken);
        var noBroker = new BrokerProbe("none", () => null);
        await using var source = NpgsqlDataSource.Create(database);
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        // The partitions a worker with the default settings (30 days' retention, 1-day partitions) keeps ahead.
        await using (var partitions = new NpgsqlCommand(
            "SELECT ingest.ensure_partitions('payloads', now() + interval '32 days', interval '1 day')", connection))
        {
            await partitions.ExecuteNonQueryAsync(cancellationToken);
        }

        postgres?.Sample(first: true);
        var first = CpuMark.Take(noBroker, 0);
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < messages.Count; start += 500)
        {
            await using var writer = await connection.BeginBinaryImportAsync(
                "COPY ingest.payloads (project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body, kafka_partition, kafka_offset, received_at, expires_at) FROM STDIN (FORMAT BINARY)",
                cancellationToken);
            for (var i = start; i < Math.Min(messages.Count, start + 500); i++)
            {
                var envelope = PayloadEnvelope.ReadFrom(messages[i].Headers);
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(envelope.ProjectId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(envelope.SessionId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(envelope.Seq, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(envelope.Seq + 1, NpgsqlDbType.Bigint, cancellationToken); // the session's applied order
                await writer.WriteAsync(envelope.PayloadId, NpgsqlDbType.Uuid, cancellationToken);
                await writer.WriteAsync(envelope.ContentType, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(envelope.Length, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(unchecked((long)envelope.Checksum), NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(envelope.Encoding, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(messages[i].Value, NpgsqlDbType.Bytea, cancellationToken);
                await writer.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken);
                await writer.WriteAsync((long)i, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(envelope.ReceivedAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await writer.WriteAsync(envelope.ReceivedAt + Retention, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await writer.CompleteAsync(cancellationToken);
            postgres?.Sample();
        }

        var seconds = clock.Elapsed.TotalSeconds;
        return (messages.Count / seconds, Cpu.Between(first, CpuMark.Take(noBroker, messages.Count), postgres));
    }

    /// <summary>One round's rates (rows/s) and where the CPU went in each.</summary>
    private sealed record Round(double Worker, double Copy, Cpu WorkerCpu, Cpu CopyCpu, Cpu ConsumeCpu)
    {
        public double Ratio => Worker / Copy;

        /// <summary>
        /// The ratio a worker adding nothing to COPY but the bare read from Kafka would reach on a machine whose cores are
        /// all busy (rate ∝ 1 / CPU per row): COPY's CPU (client + Postgres) over that plus the bare read's (client + broker).
        /// Null when Postgres' or the broker's CPU cannot be read.
        /// </summary>
        public double? Ceiling => CopyCpu.Postgres is { } pg && ConsumeCpu.Broker is { } broker
            ? (CopyCpu.Client + pg) / (CopyCpu.Client + pg + ConsumeCpu.Client + broker)
            : null;
    }

    /// <summary>
    /// CPU readings at one moment: this process (the in-process worker and, on the embedded broker, the broker's
    /// <c>rdk:mock</c> thread; or the COPY client), the broker where measurable, the machine. Postgres is sampled apart
    /// (<see cref="PostgresCpu"/>).
    /// </summary>
    private sealed record CpuMark(
        DateTime At, long Rows, TimeSpan Self, Dictionary<string, TimeSpan> Threads, TimeSpan? Broker, bool BrokerInSelf, TimeSpan Machine)
    {
        public static CpuMark Take(BrokerProbe broker, long rows) => new(
            DateTime.UtcNow, rows, ProcessCpu.OfProcess(Environment.ProcessId) ?? TimeSpan.Zero, ProcessCpu.ThreadsOfSelfByName(), broker.Read(),
            broker.InThisProcess, ProcessCpu.MachineBusy());
    }

    /// <summary>
    /// CPU milliseconds per 1,000 rows over a window: the client (the worker, or the COPY loop: this process less an
    /// embedded broker's thread), the broker (null when not measurable), Postgres (this database's backends and the shared
    /// writers; null when not local), and the machine's cores busy on average.
    /// </summary>
    private sealed record Cpu(double Client, double? Broker, double? Postgres, double CoresBusy, double Seconds, string Threads)
    {
        public static Cpu Between(CpuMark first, CpuMark last, PostgresCpu? postgres)
        {
            postgres?.Sample();
            var rows = Math.Max(1, last.Rows - first.Rows);
            var perThousand = (TimeSpan t) => t.TotalMilliseconds * 1000 / rows;
            var broker = last.Broker is { } b1 && first.Broker is { } b0 ? b1 - b0 : (TimeSpan?)null;
            var self = last.Self - first.Self;
            var embedded = last.BrokerInSelf && broker is { } inSelf ? inSelf : TimeSpan.Zero;
            var seconds = (last.At - first.At).TotalSeconds;
            var threads = string.Join(", ", last.Threads
                .Select(t => (Name: t.Key, Ms: perThousand(t.Value - first.Threads.GetValueOrDefault(t.Key))))
                .Where(t => t.Ms >= 1).OrderByDescending(t => t.Ms)
                .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Name} {t.Ms:0}")));
            return new Cpu(
                perThousand(self - embedded), broker is { } br ? perThousand(br) : null, postgres is null ? null : perThousand(postgres.Used),
                seconds > 0 ? (last.Machine - first.Machine).TotalSeconds / seconds : 0, seconds, threads);
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"client {Client:0}, broker {(Broker is { } b ? b.ToString("0", CultureInfo.InvariantCulture) : "n/a")}, Postgres {(Postgres is { } p ? p.ToString("0", CultureInfo.InvariantCulture) : "n/a")} CPU-ms per 1,000 rows; {CoresBusy:0.00} cores busy over {Seconds:0.0} s");
    }
}
