using Ingest.Contracts.Codec;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Storage;

/// <summary>
/// Abort markers (PayloadChunking): an upload the API gave up part-way loses its staged chunks when its marker is read,
/// not after <c>Worker:AbandonedUploadAfter</c> (15 min of log time); the marker is idempotent, leaves a retry of the same
/// (session, seq) alone, and never touches a stored upload.
/// </summary>
public sealed class AbortedUploadTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task An_aborted_upload_loses_its_staged_chunks_at_its_marker_and_a_retry_of_the_same_seq_is_stored_intact()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var worker = await scenario.StartWorkerAsync(ct);
        var bytes = new byte[300_000];
        new Random(11).NextBytes(bytes);
        var aborted = Chunks.Split(WorkerScenario.EnvelopeFor("retried", 4, bytes), bytes, 64 * 1024); // 5 chunks; the API gave up after 3
        var retry = Chunks.Split(WorkerScenario.EnvelopeFor("retried", 4, bytes), bytes, 64 * 1024);   // the client's retry: a new upload (new payload id)
        Assert.NotEqual(aborted[0].Envelope.PayloadId, retry[0].Envelope.PayloadId);
        var t0 = DateTime.UtcNow; // one log time for everything: the sweep's 15 min never pass
        var ready = "schema ready"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("ready", 0, ready), PayloadCodec.Encode(ready)), ct, t0);
        await scenario.Database.WaitForCountAsync(1, ct);
        foreach (var chunk in aborted[..3])
        {
            await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct, t0);
        }

        var id = aborted[0].Envelope.PayloadId;
        await Eventually.UntilAsync(
            () => Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{id}'", ct),
            count => count == 3, TimeSpan.FromSeconds(30), count => $"{count} chunks staged", ct);

        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, Chunks.AbortMarker(aborted[2]), ct, t0);
        foreach (var chunk in retry)
        {
            await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct, t0);
        }

        await scenario.Database.WaitForCountAsync(2, ct);
        var row = Assert.Single(await scenario.Database.AllAsync(ct), r => r.SessionId == "retried");
        Assert.Equal((retry[0].Envelope.PayloadId, 4L), (row.PayloadId, row.Seq));
        Assert.Equal(bytes, await Chunks.ReassembleAsync(scenario.ConnectionString, row.PayloadId, ct));
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{id}'", ct));
        Assert.Equal(1, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.pending_uploads WHERE payload_id = '{id}' AND aborted", ct));

        // A rebalance before the marker's offset was committed: the chunks and the marker come again. Nothing is staged
        // again, and nothing is taken for a gap (chunk 1 without chunk 0 would otherwise be data loss).
        foreach (var chunk in aborted[1..3])
        {
            await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct, t0);
        }

        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, Chunks.AbortMarker(aborted[2]), ct, t0);
        var sentinel = "after the redelivery"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("sentinel", 0, sentinel), PayloadCodec.Encode(sentinel)), ct, t0);
        await scenario.Database.WaitForCountAsync(3, ct);
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{id}'", ct));

        // The sweep later removes the tombstone, without counting the upload as abandoned a second time.
        var late = "16 min later"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("sentinel", 1, late), PayloadCodec.Encode(late)), ct, t0.AddMinutes(16));
        await scenario.Database.WaitForCountAsync(4, ct);
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
        Assert.Equal(bytes, await Chunks.ReassembleAsync(scenario.ConnectionString, row.PayloadId, ct));

        using var http = new HttpClient { BaseAddress = worker.Address };
        var metrics = await Eventually.UntilAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct),
            text => Line(text, "ingest_worker_uploads_aborted") is not null,
            TimeSpan.FromSeconds(20), text => $"no aborted series:\n{text}", ct);
        Assert.EndsWith(" 1", Line(metrics, "ingest_worker_uploads_aborted"), StringComparison.Ordinal); // the redelivered marker is not counted
        Assert.Null(Line(metrics, "ingest_worker_data_loss"));
        Assert.Null(Line(metrics, "ingest_worker_uploads_abandoned"));

        string? Line(string text, string name) => text.Split('\n')
            .FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(scenario.Topic, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_abort_marker_for_a_stored_or_unknown_upload_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct);
        var bytes = new byte[200_000];
        new Random(12).NextBytes(bytes);
        var stored = Chunks.Split(WorkerScenario.EnvelopeFor("stored", 0, bytes), bytes, 64 * 1024);
        var unknown = Chunks.Split(WorkerScenario.EnvelopeFor("unknown", 0, bytes), bytes, 64 * 1024);
        foreach (var chunk in stored)
        {
            await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct);
        }

        // A marker must never follow a last chunk; a producer that sent one anyway (or a marker whose chunks never
        // reached the log) finds nothing pending: the stored payload keeps its chunks.
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, Chunks.AbortMarker(stored[^2]), ct);
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, Chunks.AbortMarker(unknown[1]), ct);
        var sentinel = "after the markers"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("sentinel", 0, sentinel), sentinel, ct);
        await scenario.Database.WaitForCountAsync(2, ct);

        var row = Assert.Single(await scenario.Database.AllAsync(ct), r => r.SessionId == "stored");
        Assert.Equal(bytes, await Chunks.ReassembleAsync(scenario.ConnectionString, row.PayloadId, ct));
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
        Assert.Empty(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(2))); // bounded look for a letter that must not exist
    }
}
