using System.Diagnostics;
using Confluent.Kafka;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>Workers of one group share the partitions and take over from each other.</summary>
public sealed class GroupTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Theory]
    [InlineData("classic")] // cooperative-sticky, session 6 s / heartbeat 0.5 s
    [InlineData("consumer")] // KIP-848: the broker assigns
    public async Task Two_workers_split_the_partitions_and_the_survivor_takes_over_storing_everything_once(string protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 4, ct);
        var first = await scenario.StartWorkerAsync(ct, $"--Kafka:group.protocol={protocol}");
        var second = await scenario.StartWorkerAsync(ct, $"--Kafka:group.protocol={protocol}");
        var split = Stopwatch.StartNew();
        await Eventually.UntilAsync(
            () => (First: first.Assignment, Second: second.Assignment),
            a => a.First.Count > 0 && a.Second.Count > 0 && a.First.Count + a.Second.Count == 4,
            TimeSpan.FromSeconds(60), a => $"assignment {Describe(a.First)} / {Describe(a.Second)}", ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"{protocol}: two workers split 4 partitions in {split.ElapsedMilliseconds} ms");
        Assert.Empty(first.Assignment.Intersect(second.Assignment));

        await ProduceAsync(scenario, seqs: 0..20, ct);
        await scenario.Database.WaitForCountAsync(160, ct);

        var takeover = Stopwatch.StartNew();
        await first.StopAsync();
        var stopped = takeover.ElapsedMilliseconds;
        await Eventually.UntilAsync(
            () => second.Assignment, a => a.Count == 4, TimeSpan.FromSeconds(60), a => $"survivor owns {Describe(a)}", ct);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{protocol}: graceful stop took {stopped} ms; survivor owned all 4 partitions {takeover.ElapsedMilliseconds} ms after the stop began");

        await ProduceAsync(scenario, seqs: 20..40, ct);
        await scenario.Database.WaitForCountAsync(320, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal(320, rows.Count);
        foreach (var session in rows.GroupBy(r => r.SessionId))
        {
            Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), session.Select(r => r.Seq));
        }

        await second.StopAsync();
        Assert.Equal(scenario.LogEndOffsets().Select(e => e == 0 ? Offset.Unset.Value : e), scenario.CommittedOffsets());
    }

    private static async Task ProduceAsync(WorkerScenario scenario, Range seqs, CancellationToken ct)
    {
        var deliveries = new List<Task<DeliveryResult<byte[], byte[]>>>();
        for (var seq = seqs.Start.Value; seq < seqs.End.Value; seq++)
        {
            for (var s = 0; s < 8; s++)
            {
                var bytes = BitConverter.GetBytes((s * 1000) + seq);
                deliveries.Add(scenario.ProduceAsync(WorkerScenario.EnvelopeFor($"session-{s}", seq, bytes), bytes, ct));
            }
        }

        foreach (var delivery in deliveries)
        {
            await delivery;
        }
    }

    private static string Describe(IReadOnlyList<TopicPartition> partitions) =>
        "[" + string.Join(",", partitions.Select(p => p.Partition.Value)) + "]";
}
