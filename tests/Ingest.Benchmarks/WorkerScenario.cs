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
            await using (var worker = await stack.StartWorkerAsync(topic, database, cancellationToken))
            {
                await WaitForRowsAsync(database, count, TimeSpan.FromMinutes(5), cancellationToken);
                await worker.StopAsync(cancellationToken);
            }

            var workerRate = await RateFromStoredAtAsync(database, cancellationToken);
            var copyRate = await CopyRateAsync(await stack.DatabaseAsync(cancellationToken), messages, cancellationToken);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  worker {name,-8} {workerRate,10:0.0} rows/s; binary COPY {copyRate,10:0.0} rows/s"));
            results.Add(new Measurement(
                $"worker store {name}", "MB/s", workerRate * size / 1e6, copyRate * size / 1e6, $"raw binary COPY {name}",
                size >= 100_000 ? 0.7 : 0.5,
                string.Create(CultureInfo.InvariantCulture, $"{count} payloads; worker {workerRate:0} payloads/s, COPY {copyRate:0} rows/s (500 rows per COPY)")));
        }

        return results;
    }

    private static async Task WaitForRowsAsync(string database, long count, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        await using var source = NpgsqlDataSource.Create(database);
        while ((long)(await source.CreateCommand("SELECT count(*) FROM ingest.payloads").ExecuteScalarAsync(cancellationToken))! < count)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the worker did not store {count} payloads within {deadline}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Rows per second between the first and the last commit (excludes the group join before the first).</summary>
    private static async Task<double> RateFromStoredAtAsync(string database, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(database);
        await using var reader = await source.CreateCommand(
            "SELECT count(*), extract(epoch FROM max(stored_at) - min(stored_at)) FROM ingest.payloads").ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var rows = reader.GetInt64(0);
        var seconds = (double)reader.GetDecimal(1);
        return seconds > 0 ? (rows - 1) / seconds : 0;
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
