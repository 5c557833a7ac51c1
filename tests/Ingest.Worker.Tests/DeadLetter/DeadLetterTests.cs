using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.DeadLetter;
using Ingest.Contracts.Envelope;
using Ingest.Testing;

namespace Ingest.Worker.Tests.DeadLetter;

/// <summary>A message that can never be stored goes to the DLQ with why and where; the rest is stored.</summary>
public sealed class DeadLetterTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Undecodable_messages_are_dead_lettered_and_the_messages_after_them_are_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 2, ct);
        await scenario.StartWorkerAsync(ct);
        var zero = "zero"u8.ToArray();
        var envelope = WorkerScenario.EnvelopeFor("s", 0, zero);
        await scenario.ProduceAsync(envelope, zero, ct);
        var noVersion = new Headers();
        foreach (var header in envelope.WriteTo(new Headers()).Where(h => h.Key != IngestHeaders.Version))
        {
            noVersion.Add(header.Key, header.GetValueBytes());
        }

        var badHeaders = await scenario.ProduceRawAsync(envelope.Key, PayloadCodec.Encode(zero), noVersion, ct);
        var badValue = await scenario.ProduceRawAsync(
            envelope.Key, "not an encoded payload"u8.ToArray(), WorkerScenario.EnvelopeFor("s", 1, zero).WriteTo(new Headers()), ct);
        for (var seq = 1; seq <= 3; seq++)
        {
            var bytes = Encoding.UTF8.GetBytes($"payload {seq}");
            await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("s", seq, bytes), bytes, ct);
        }

        await scenario.Database.WaitForCountAsync(4, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal([0L, 1L, 2L, 3L], rows.Select(r => r.Seq));
        var letters = scenario.ReadDeadLetters(2, TimeSpan.FromSeconds(30));
        Assert.Equal(2, letters.Count);
        foreach (var (letter, original) in letters.OrderBy(l => WorkerScenario.Header(l, DeadLetterHeaders.Offset).Length)
                     .ThenBy(l => WorkerScenario.Header(l, DeadLetterHeaders.Offset), StringComparer.Ordinal)
                     .Zip([badHeaders, badValue]))
        {
            Assert.Equal(scenario.Topic, WorkerScenario.Header(letter, DeadLetterHeaders.Topic));
            Assert.Equal(original.Partition.Value.ToString(CultureInfo.InvariantCulture), WorkerScenario.Header(letter, DeadLetterHeaders.Partition));
            Assert.Equal(original.Offset.Value.ToString(CultureInfo.InvariantCulture), WorkerScenario.Header(letter, DeadLetterHeaders.Offset));
            Assert.NotEmpty(WorkerScenario.Header(letter, DeadLetterHeaders.Error));
            var failedAt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(WorkerScenario.Header(letter, DeadLetterHeaders.FailedAt), CultureInfo.InvariantCulture));
            Assert.InRange(failedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
            Assert.Equal(original.Message.Value, letter.Message.Value);
            Assert.Equal(original.Message.Key, letter.Message.Key);
        }

        Assert.Contains(IngestHeaders.Version, WorkerScenario.Header(letters[0], DeadLetterHeaders.Error) + WorkerScenario.Header(letters[1], DeadLetterHeaders.Error));
    }

    [Fact]
    public async Task A_payload_the_database_refuses_is_isolated_from_its_batch_and_dead_lettered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        DeliveryResult<byte[], byte[]>? refused = null;
        for (var seq = 0; seq < 6; seq++)
        {
            var bytes = Encoding.UTF8.GetBytes($"payload {seq}");
            // Postgres text cannot hold NUL (SQLSTATE 22021); the envelope itself is valid.
            var contentType = seq == 3 ? "application/json\0" : "application/json";
            var delivery = await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("s", seq, bytes, contentType), bytes, ct);
            refused = seq == 3 ? delivery : refused;
        }

        // Started after producing, so the six arrive together and are written as one batch.
        await scenario.StartWorkerAsync(ct);
        await scenario.Database.WaitForCountAsync(5, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal([0L, 1L, 2L, 4L, 5L], rows.Select(r => r.Seq));
        var letter = Assert.Single(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(refused!.Offset.Value.ToString(CultureInfo.InvariantCulture), WorkerScenario.Header(letter, DeadLetterHeaders.Offset));
        Assert.Contains("22021", WorkerScenario.Header(letter, DeadLetterHeaders.Error), StringComparison.Ordinal);
        await Eventually.UntilAsync(
            () => scenario.CommittedOffsets()[0], offset => offset == 6, TimeSpan.FromSeconds(30),
            offset => $"committed {offset}, not past the dead-lettered message", ct);
    }
}
