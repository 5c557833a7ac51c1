using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;
using Ingest.Testing;

namespace Ingest.Worker.Tests.DeadLetter;

/// <summary>One payload the database refuses, in the middle of a busy partition: it alone goes to the DLQ, and comes back by redrive (ingest-ops).</summary>
public sealed class PoisonTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task A_poison_payload_is_bisected_out_dead_lettered_with_its_metadata_and_redriven_once_fixed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct, "--Worker:PoisonAttempts=2");
        await ProduceAsync(scenario, "s", 0, ct);
        await scenario.Database.WaitForCountAsync(1, ct);
        // The "bug": a constraint that refuses one payload (SQLSTATE 23514, a data error).
        await Sql.ExecuteAsync(scenario.ConnectionString,
            "ALTER TABLE ingest.payloads ADD CONSTRAINT no_seq_150 CHECK (NOT (session_id = 's' AND seq = 150))", ct);

        var deliveries = new List<Task<DeliveryResult<byte[], byte[]>>>();
        for (var seq = 1; seq < 300; seq++)
        {
            deliveries.Add(ProduceAsync(scenario, "s", seq, ct));
            deliveries.Add(ProduceAsync(scenario, "other", seq, ct));
        }

        var poisonOffset = (await deliveries[(150 - 1) * 2]).Offset.Value;
        await scenario.Database.WaitForCountAsync(299 + 299, ct);

        var letter = Assert.Single(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(30)));
        Assert.Contains("no_seq_150", WorkerScenario.Header(letter, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal(scenario.Topic, WorkerScenario.Header(letter, DeadLetterHeaders.Topic));
        Assert.Equal("0", WorkerScenario.Header(letter, DeadLetterHeaders.Partition));
        Assert.Equal(poisonOffset.ToString(CultureInfo.InvariantCulture), WorkerScenario.Header(letter, DeadLetterHeaders.Offset));
        Assert.Equal("2", WorkerScenario.Header(letter, DeadLetterHeaders.Attempts));
        Assert.True(long.Parse(WorkerScenario.Header(letter, DeadLetterHeaders.FirstFailedAt), CultureInfo.InvariantCulture)
            <= long.Parse(WorkerScenario.Header(letter, DeadLetterHeaders.FailedAt), CultureInfo.InvariantCulture));
        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal(Enumerable.Range(0, 300).Where(i => i != 150).Select(i => (long)i), rows.Where(r => r.SessionId == "s").Select(r => r.Seq));
        Assert.Equal(Enumerable.Range(1, 299).Select(i => (long)i), rows.Where(r => r.SessionId == "other").Select(r => r.Seq));

        // Fixed: the redriven payload is stored, after everything that was stored before it.
        await Sql.ExecuteAsync(scenario.ConnectionString, "ALTER TABLE ingest.payloads DROP CONSTRAINT no_seq_150", ct);
        var (exitCode, output, error) = await OpsRedrive.RunAsync(scenario.Topic, kafka.BootstrapServers, database: null, []);
        Assert.True(exitCode == 0, output + error);
        Assert.Contains("Redrove 1 message", output, StringComparison.Ordinal);
        await scenario.Database.WaitForCountAsync(599, ct);
        var redriven = Assert.Single(await scenario.Database.AllAsync(ct), r => r.SessionId == "s" && r.Seq == 150);
        Assert.True(redriven.Position > rows.Max(r => r.Position));
        Assert.Equal(Encoding.UTF8.GetBytes("s 150"), Ingest.Contracts.Codec.PayloadCodec.Decode(redriven.Body));
    }

    private static Task<DeliveryResult<byte[], byte[]>> ProduceAsync(WorkerScenario scenario, string session, int seq, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes($"{session} {seq}");
        return scenario.ProduceAsync(WorkerScenario.EnvelopeFor(session, seq, bytes), bytes, ct);
    }
}
