using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Storage;

/// <summary>Payloads produced as the API does are stored once, in session order, byte for byte.</summary>
public sealed class StoringTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Payloads_are_stored_once_in_session_order_and_decode_to_the_same_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 4, ct);
        await scenario.StartWorkerAsync(ct);
        var random = new Random(42);
        var sent = new Dictionary<(string, long), (byte[] Bytes, Guid PayloadId, Task<DeliveryResult<byte[], byte[]>> Delivery)>();
        var delivered = new Dictionary<(string, long), DeliveryResult<byte[], byte[]>>();
        for (var seq = 0; seq < 25; seq++)
        {
            for (var s = 0; s < 6; s++)
            {
                var bytes = new byte[random.Next(1, 5000)];
                random.NextBytes(bytes.AsSpan(0, bytes.Length / 2)); // half random, half zeros: some compress, some not
                var envelope = WorkerScenario.EnvelopeFor($"session-{s}", seq, bytes, "application/json");
                sent[(envelope.SessionId, seq)] = (bytes, envelope.PayloadId, scenario.ProduceAsync(envelope, bytes, ct));
            }
        }

        foreach (var (key, value) in sent)
        {
            delivered[key] = await value.Delivery;
        }

        await scenario.Database.WaitForCountAsync(sent.Count, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal(sent.Count, rows.Count);
        foreach (var session in rows.GroupBy(r => r.SessionId))
        {
            Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), session.Select(r => r.Seq)); // ordered by position
        }

        foreach (var row in rows)
        {
            var (bytes, payloadId, _) = sent[(row.SessionId, row.Seq)];
            var delivery = delivered[(row.SessionId, row.Seq)];
            Assert.Equal(bytes, PayloadCodec.Decode(row.Body));
            Assert.Equal(payloadId, row.PayloadId);
            Assert.Equal(bytes.Length, row.Length);
            Assert.Equal(unchecked((long)XxHash3.HashToUInt64(bytes)), row.Checksum);
            Assert.Equal(("p1", "application/json", PayloadCodec.Name), (row.Project, row.ContentType, row.Encoding));
            Assert.Equal((delivery.Partition.Value, delivery.Offset.Value), (row.Partition, row.Offset));
            Assert.True(row.StoredAt >= row.ReceivedAt.AddSeconds(-1));
        }
    }

    [Fact]
    public async Task The_same_message_twice_is_stored_once_and_a_different_one_under_the_same_seq_does_not_replace_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 2, ct);
        var first = "first"u8.ToArray();
        var envelope = WorkerScenario.EnvelopeFor("dup", 0, first);
        await scenario.ProduceAsync(envelope, first, ct);
        await scenario.ProduceAsync(envelope, first, ct); // redelivery: same payload id
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("dup", 0, first), first, ct); // client retry: same bytes
        var other = "other"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("dup", 0, other), other, ct); // conflicting
        var last = "last"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("dup", 1, last), last, ct);

        var worker = await scenario.StartWorkerAsync(ct);
        await scenario.Database.WaitForCountAsync(2, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal([0L, 1L], rows.Select(r => r.Seq));
        Assert.Equal(envelope.PayloadId, rows[0].PayloadId);
        Assert.Equal(first, PayloadCodec.Decode(rows[0].Body));
        using var http = new HttpClient { BaseAddress = worker.Address };
        var metrics = await Eventually.UntilAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct),
            text => Metric(text, "ingest_worker_duplicates", $"kind=\"conflicting\"") is not null,
            TimeSpan.FromSeconds(10), _ => "duplicate metrics never appeared", ct);
        Assert.Equal("1", Metric(metrics, "ingest_worker_duplicates", "kind=\"redelivery\""));
        Assert.Equal("1", Metric(metrics, "ingest_worker_duplicates", "kind=\"client_retry\""));
        Assert.Equal("1", Metric(metrics, "ingest_worker_duplicates", "kind=\"conflicting\""));
        Assert.Equal("2", Metric(metrics, "ingest_worker_payloads_stored", ""));

        string? Metric(string text, string name, string label) => text.Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(scenario.Topic, StringComparison.Ordinal)
                && l.Contains(label, StringComparison.Ordinal))
            .Select(l => l.Split(' ')[1]).FirstOrDefault();
    }

    [Fact]
    public async Task After_a_graceful_stop_the_committed_offsets_equal_the_log_end()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 4, ct);
        var worker = await scenario.StartWorkerAsync(ct);
        var deliveries = Enumerable.Range(0, 120).Select(i =>
        {
            var bytes = BitConverter.GetBytes(i);
            return scenario.ProduceAsync(WorkerScenario.EnvelopeFor($"s{i % 10}", i / 10, bytes), bytes, ct);
        }).ToList();
        await Task.WhenAll(deliveries);
        await scenario.Database.WaitForCountAsync(120, ct);

        await worker.StopAsync();

        var logEnd = scenario.LogEndOffsets();
        Assert.Equal(120, logEnd.Sum());
        // A partition that never had a message has nothing to commit (Offset.Unset).
        Assert.Equal(logEnd.Select(end => end == 0 ? Offset.Unset.Value : end), scenario.CommittedOffsets());
    }
}
