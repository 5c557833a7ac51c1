using Confluent.Kafka;
using Ingest.Testing;

namespace Ingest.Worker.Tests;

/// <summary>Chunked payloads interleaved across sessions keep reassembling while their partitions move between workers.</summary>
[Collection(OutageCollection.Name)]
public sealed class ChunkedRebalanceTests
{
    [Fact]
    public async Task Chunked_payloads_interleaved_across_sessions_are_stored_intact_across_a_rebalance()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(partitions: 4, ct);
        stack.Mock.SetGroupConsumerHeartbeatInterval(500);
        const string Protocol = "--Kafka:group.protocol=consumer";
        var leaving = await stack.StartWorkerAsync(ct, Protocol);
        await stack.StartWorkerAsync(ct, Protocol);

        // 6 sessions × 2 payloads × 768 KiB of incompressible bytes in 128 KiB chunks, produced round-robin;
        // the second round starts once the first is stored, so even if every session hashed to one
        // partition its backlog (≤ 4.5 MiB) stays under the mock's 5 MiB retention. (With 2 MiB payloads
        // and no such bound the backlog outran retention during the rebalance, and the worker rightly
        // reported the lost chunks as data loss.)
        var random = new Random(848);
        var uploads = new List<(string Session, long Seq, byte[] Bytes, List<(Contracts.Envelope.PayloadEnvelope Envelope, byte[] Value)> Chunks)>();
        for (var seq = 0; seq < 2; seq++)
        {
            for (var s = 0; s < 6; s++)
            {
                var bytes = new byte[(768 * 1024) + (s * 1000)];
                random.NextBytes(bytes);
                uploads.Add(($"chunked-{s}", seq, bytes, Chunks.Split($"chunked-{s}", seq, bytes, 128 * 1024)));
            }
        }

        var rounds = uploads.Max(u => u.Chunks.Count);
        for (var batch = 0; batch < 2; batch++)
        {
            var current = uploads.Where(u => u.Seq == batch).ToList();
            for (var i = 0; i < rounds; i++)
            {
                await Task.WhenAll(current.Where(u => i < u.Chunks.Count).Select(u => ProduceAsync(stack, u.Chunks[i], ct)));
                if (batch == 0 && i == rounds / 2)
                {
                    // Mid-upload: one worker leaves and another joins, so partitions move twice.
                    Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(60)));
                    await stack.StartWorkerAsync(ct, Protocol);
                }
            }

            await stack.Database.WaitForCountAsync(current.Count * (batch + 1), ct);
        }

        await Eventually.UntilAsync(
            () => stack.Database.CountAsync(ct), n => n == uploads.Count, TimeSpan.FromSeconds(60),
            n => $"{n} of {uploads.Count} stored; workers:\n{stack.WorkerOutput}", ct);
        var rows = await stack.Database.AllAsync(ct);
        Assert.Equal(uploads.Count, rows.Count);
        foreach (var upload in uploads)
        {
            var row = Assert.Single(rows, r => r.SessionId == upload.Session && r.Seq == upload.Seq);
            Assert.Equal(upload.Bytes.Length, row.Length);
            Assert.Equal(upload.Bytes, await Chunks.ReassembleAsync(stack.ConnectionString, row.PayloadId, ct));
        }

        Assert.Equal(0, await Chunks.ScalarAsync(stack.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
    }

    private static Task<DeliveryResult<byte[], byte[]>> ProduceAsync(
        IsolatedStack stack, (Contracts.Envelope.PayloadEnvelope Envelope, byte[] Value) chunk, CancellationToken ct) =>
        stack.Producer.ProduceAsync(IsolatedStack.Topic, new Message<byte[], byte[]>
        {
            Key = chunk.Envelope.Key,
            Value = chunk.Value,
            Headers = chunk.Envelope.WriteTo(new Headers()),
        }, ct);
}
