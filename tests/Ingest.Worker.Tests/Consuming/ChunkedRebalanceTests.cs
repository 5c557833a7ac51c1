using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.LoadGen;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>
/// 50 MiB chunked payloads interleaved across sessions keep reassembling while their partitions move between
/// workers (one added, one SIGKILLed, one stopped gracefully), on the suite's broker when it is a real Kafka, with
/// each partition's backlog kept under the mock cluster's 5 MiB retention by a producer paced on the committed offsets.
/// </summary>
[Collection(OutageCollection.Name)]
public sealed class ChunkedRebalanceTests(KafkaFixture kafka)
{
    private const int Partitions = 4;
    private const int PayloadBytes = 50 * 1024 * 1024;
    // Produced but uncommitted bytes per partition: under the mock's 5 MiB with room for message-set overhead.
    private const long WindowBytes = 3 * 1024 * 1024;

    [Fact]
    public async Task Chunked_50_MiB_payloads_interleaved_across_sessions_are_stored_intact_while_workers_join_crash_and_leave()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = Stopwatch.StartNew();
        // Six sessions over four partitions: two partitions carry two sessions each, their chunks interleaved.
        var generating = Task.Run(async () =>
        {
            var made = new List<Upload>();
            foreach (var target in SessionsOnPartitions(0, 0, 1, 1, 2, 3))
            {
                made.Add(await MakeUploadAsync(target)); // one at a time: 50 MiB decoded each
            }

            return made;
        }, ct);
        await using var stack = await IsolatedStack.CreateAsync(kafka, Partitions, ct);
        // The mock's classic group waits session − 1 s at every join and leave (rdkafka_mock_cgrp.c), so there KIP-848
        // moves the partitions; a real broker runs the default protocol, whose coordinator rebalances at once and notices
        // the SIGKILL after the worker's 6 s session, where its KIP-848 sessions last 45 s by default (FailoverTests).
        var protocol = $"--Kafka:group.protocol={(stack.IsMock ? "consumer" : "classic")}";
        var crashing = await stack.StartWorkerAsync(ct, protocol);
        var leaving = await stack.StartWorkerAsync(ct, protocol);
        var uploads = await generating;
        var ready = clock.Elapsed;

        using var backlog = new PartitionBacklog(stack.BootstrapServers, stack.Topic, stack.GroupId, stack.Partitions, WindowBytes);
        string Diagnostics() => $"workers:\n{stack.WorkerOutput}";
        var producing = uploads.GroupBy(u => u.Partition)
            .Select(p => Task.Run(() => ProducePartitionAsync(stack, backlog, [.. p], Diagnostics, ct), ct))
            .ToList();

        // Partitions move mid-upload, at points set by committed progress (not by time): 2 → 3 → 2 → 1 workers.
        var total = uploads.Sum(u => u.Chunks.Sum(c => (long)c.Value.Length));
        await backlog.WaitForCommittedAsync(total / 4, Diagnostics, ct);
        var joining = await stack.StartWorkerAsync(ct, protocol);
        var committedAtJoin = await Eventually.UntilAsync(
            () => (Moved: Regex.IsMatch(joining.Output, @"Assigned partitions \[\d"), Committed: backlog.CommittedBytes),
            p => p.Moved, TimeSpan.FromSeconds(30), _ => $"The added worker got no partition.\n{Diagnostics()}", ct);
        Assert.True(committedAtJoin.Committed < total, "The added worker got its partitions only after everything was stored.");
        await backlog.WaitForCommittedAsync(total / 2, Diagnostics, ct);
        await crashing.KillAsync(); // no drain, no commit: its partitions wait for the session timeout, then redeliver
        await backlog.WaitForCommittedAsync(3 * total / 4, Diagnostics, ct);
        Assert.Equal(0, await leaving.TerminateAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(producing);
        await backlog.WaitForCommittedAsync(total, Diagnostics, ct);
        var streamed = clock.Elapsed - ready;

        var rows = await stack.Database.AllAsync(ct);
        Assert.Equal(uploads.Count, rows.Count);
        foreach (var upload in uploads)
        {
            var row = Assert.Single(rows, r => r.SessionId == upload.Session);
            Assert.Equal(upload.Partition, row.Partition);
            Assert.Equal(PayloadBytes, row.Length);
            Assert.Equal(unchecked((long)upload.Checksum), row.Checksum);
            var stored = await Chunks.StoredTotalsAsync(stack.ConnectionString, row.PayloadId, ct);
            Assert.Equal(PayloadBytes, stored.Length);
            Assert.Equal(upload.Checksum, stored.Checksum);
        }

        Assert.Equal(0, await Sql.ScalarAsync(stack.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
        Assert.InRange(backlog.PeakBacklogBytes, 1, WindowBytes);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{uploads.Count} × {PayloadBytes >> 20} MiB ({total >> 20} MiB as LZ4 chunks) over {Partitions} partitions: " +
            $"generated and stack up in {ready.TotalSeconds:0.0} s, streamed through 2→3→2→1 workers in {streamed.TotalSeconds:0.0} s, " +
            $"whole test {clock.Elapsed.TotalSeconds:0.0} s; peak uncommitted backlog on a partition {backlog.PeakBacklogBytes / 1024} KiB");
    }

    private sealed record Upload(string Session, int Partition, ulong Checksum, List<(PayloadEnvelope Envelope, byte[] Value)> Chunks);

    /// <summary>One session id per requested partition (repeat a partition to put several sessions on it).</summary>
    private static IEnumerable<(string Session, int Partition)> SessionsOnPartitions(params int[] partitions)
    {
        var taken = new HashSet<string>();
        foreach (var partition in partitions)
        {
            var session = Enumerable.Range(0, 1000).Select(n => $"big-{n}")
                .First(s => !taken.Contains(s) && SessionKey.PartitionFor(SessionKey.For(WorkerScenario.Project, s), Partitions) == partition);
            taken.Add(session);
            yield return (session, partition);
        }
    }

    /// <summary>Recording-like JSON (LZ4 ratio ~3, as the API sees real recordings) cut into 256 KiB chunks as the API cuts them.</summary>
    private static async Task<Upload> MakeUploadAsync((string Session, int Partition) target)
    {
        using var body = new MemoryStream(PayloadBytes);
        var seed = SessionKey.Murmur2(Encoding.UTF8.GetBytes(target.Session));
        var checksum = await RecordingContent.WriteAsync(seed, PayloadBytes, body, CancellationToken.None);
        var bytes = body.GetBuffer();
        Assert.Equal(PayloadBytes, bytes.Length);
        var chunks = Chunks.Split(WorkerScenario.EnvelopeFor(target.Session, 0, bytes), bytes, PayloadChunking.DefaultChunkBytes);
        Assert.Equal(checksum, chunks[^1].Envelope.Checksum);
        return new Upload(target.Session, target.Partition, checksum, chunks);
    }

    /// <summary>Produces one partition's uploads, their chunks interleaved, each only when the partition's window has room.</summary>
    private static async Task ProducePartitionAsync(
        IsolatedStack stack, PartitionBacklog backlog, List<Upload> uploads, Func<string> diagnostics, CancellationToken ct)
    {
        for (var i = 0; i < uploads.Max(u => u.Chunks.Count); i++)
        {
            foreach (var chunk in uploads.Where(u => i < u.Chunks.Count).Select(u => u.Chunks[i]))
            {
                var partition = uploads[0].Partition;
                await backlog.WaitForRoomAsync(partition, chunk.Value.Length, diagnostics, ct);
                var delivery = await Chunks.ProduceAsync(stack.Producer, stack.Topic, chunk, ct);
                Assert.Equal(partition, delivery.Partition.Value);
                backlog.Produced(partition, delivery.Offset.Value, chunk.Value.Length);
            }
        }
    }
}
