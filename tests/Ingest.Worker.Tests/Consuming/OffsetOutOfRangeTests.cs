using Confluent.Kafka;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>A committed offset that retention has deleted is data loss: counted, never skipped silently.</summary>
[Collection(OutageCollection.Name)]
public sealed class OffsetOutOfRangeTests
{
    [Fact]
    public async Task A_committed_offset_deleted_by_retention_is_counted_as_data_loss_and_the_rest_is_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(partitions: 1, ct);
        using (var committer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = stack.BootstrapServers,
            GroupId = stack.GroupId,
        }).Build())
        {
            committer.Commit([new TopicPartitionOffset(stack.Topic, 0, 0)]);
        }

        // 8 MiB of incompressible payloads: the mock keeps ~5 MiB per partition and drops the oldest.
        var random = new Random(1);
        for (var seq = 0; seq < 80; seq++)
        {
            var bytes = new byte[100 * 1024];
            random.NextBytes(bytes);
            await stack.ProduceAsync("s", seq, bytes, ct);
        }

        var worker = await stack.StartWorkerAsync(ct);
        using var http = new HttpClient { BaseAddress = worker.Address };
        var metrics = await Eventually.UntilAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct),
            text => text.Contains("ingest_worker_data_loss", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            text => $"no data-loss series:\n{worker.Output}", ct);
        Assert.Contains("kind=\"offset_out_of_range\"", metrics, StringComparison.Ordinal);

        // What is still on the broker is stored: the newest payloads, in order.
        var rows = await Eventually.UntilAsync(
            () => stack.Database.AllAsync(ct), r => r.Count > 0 && r[^1].Seq == 79, TimeSpan.FromSeconds(60),
            r => $"{r.Count} stored", ct);
        Assert.InRange(rows.Count, 1, 79);
        Assert.Equal(Enumerable.Range(80 - rows.Count, rows.Count).Select(i => (long)i), rows.Select(r => r.Seq));
    }
}
