using Ingest.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>A full lane pauses its partition and resumes it without losing or reordering anything.</summary>
public sealed class BackpressureTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Tiny_lanes_pause_and_resume_without_losing_or_reordering_payloads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        for (var seq = 0; seq < 120; seq++)
        {
            var bytes = BitConverter.GetBytes(seq);
            _ = scenario.ProduceAsync(WorkerScenario.EnvelopeFor("s", seq, bytes), bytes, ct);
        }

        scenario.Producer.Flush(ct);
        // Two queued messages per lane: the partition pauses and resumes ~40 times (each costs a re-fetch).
        await scenario.StartWorkerAsync(ct, "--Worker:LaneCapacity=2", "--Worker:MaxBatchMessages=3");
        await scenario.Database.WaitForCountAsync(120, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), rows.Select(r => r.Seq));
        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), rows.Select(r => r.Offset));
    }
}
