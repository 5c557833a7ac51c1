using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Ingest.Contracts.Envelope;
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
            // round with the median ratio reported.
            var rounds = new List<(double Worker, double Copy)>();
            for (var round = 0; round < (options.Smoke ? 1 : 3); round++)
            {
                rounds.Add(await RoundAsync(stack, messages, cancellationToken));
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  worker {name,-8} {rounds[^1].Worker,10:0.0} rows/s; binary COPY {rounds[^1].Copy,10:0.0} rows/s; ratio {rounds[^1].Worker / rounds[^1].Copy:0.00}"));
            }

            var ordered = rounds.OrderBy(r => r.Worker / r.Copy).ToList();
            var (workerRate, copyRate) = ordered[ordered.Count / 2];
            results.Add(new Measurement(
                $"worker store {name}", "MB/s", workerRate * size / 1e6, copyRate * size / 1e6, $"raw binary COPY {name}",
                size >= 100_000 ? 0.85 : 0.6,
                string.Create(CultureInfo.InvariantCulture,
                    $"{count} payloads, 48 partitions; median of {rounds.Count} rounds (ratios {string.Join(", ", rounds.Select(r => (r.Worker / r.Copy).ToString("0.00", CultureInfo.InvariantCulture)))}); worker {workerRate:0} payloads/s, COPY {copyRate:0} rows/s (500 rows per COPY)")));
        }

        return results;
    }

    /// <summary>One round: the backlog produced to a fresh topic, stored by a worker, then COPYed into another fresh database.</summary>
    private static async Task<(double Worker, double Copy)> RoundAsync(
        Stack stack, List<Message<byte[], byte[]>> messages, CancellationToken cancellationToken)
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
        DateTimeOffset allStored;
        await using (var worker = await stack.StartWorkerAsync(topic, database, cancellationToken))
        {
            allStored = await WaitForRowsAsync(database, messages.Count, TimeSpan.FromMinutes(5), cancellationToken);
            await worker.StopAsync(cancellationToken);
        }

        var workerRate = await RateAsync(database, allStored, cancellationToken);
        await stack.DropDatabaseAsync(database, cancellationToken);
        var copyDatabase = await stack.DatabaseAsync(cancellationToken);
        var copyRate = await CopyRateAsync(copyDatabase, messages, cancellationToken);
        await stack.DropDatabaseAsync(copyDatabase, cancellationToken);
        return (workerRate, copyRate);
    }

    /// <summary>Polls (every 20 ms) until <paramref name="count"/> rows are committed; returns when it saw them.</summary>
    private static async Task<DateTimeOffset> WaitForRowsAsync(string database, long count, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        await using var source = NpgsqlDataSource.Create(database);
        while ((long)(await source.CreateCommand("SELECT count(*) FROM ingest.payloads").ExecuteScalarAsync(cancellationToken))! < count)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the worker did not store {count} payloads within {deadline}");
            }

            await Task.Delay(20, cancellationToken);
        }

        return DateTimeOffset.UtcNow;
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

    private static async Task<double> CopyRateAsync(string database, List<Message<byte[], byte[]>> messages, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(database);
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        // The partitions a worker with the default settings (30 days' retention, 1-day partitions) keeps ahead.
        await using (var partitions = new NpgsqlCommand(
            "SELECT ingest.ensure_partitions('payloads', now() + interval '32 days', interval '1 day')", connection))
        {
            await partitions.ExecuteNonQueryAsync(cancellationToken);
        }

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
        }

        return messages.Count / clock.Elapsed.TotalSeconds;
    }
}
