using System.Net;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// Erasure through the whole pipeline: a session erased while some of its payloads are still in Kafka (the only worker
/// stopped) answers 404 to reads and 410 to posts at once, and once the worker is back nothing of it becomes readable —
/// neither what was stored before nor what was still on its way — while another session of the project is untouched.
/// </summary>
public sealed class ErasureTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly string[] FastLifecycle = ["--Ingest:Lifecycle:CheckInterval=00:00:01"];

    [Fact]
    public async Task A_session_erased_while_its_payloads_are_still_in_Kafka_never_comes_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);
        await pipeline.StartApiAsync(FastLifecycle, ct);
        var worker = await pipeline.StartWorkerAsync(FastLifecycle, ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        using var eraser = pipeline.Client(Pipeline.ReadEraseKey);
        for (var seq = 0; seq < 3; seq++)
        {
            await Payloads.PostAcceptedAsync(client, "erased", seq, Payloads.Make("erased", seq, 2000), ct);
            await Payloads.PostAcceptedAsync(client, "kept", seq, Payloads.Make("kept", seq, 2000), ct);
        }

        await pipeline.WaitForStoredAsync(6, TimeSpan.FromSeconds(60), ct);
        await worker.StopAsync();
        for (var seq = 3; seq < 6; seq++)
        {
            await Payloads.PostAcceptedAsync(client, "erased", seq, Payloads.Make("erased", seq, 2000), ct);
        }

        // A chunked upload too (three 256 KiB chunks), all in Kafka when the erasure comes.
        await Payloads.PostAcceptedAsync(client, "erased", 6, Payloads.Make("erased", 6, 700_000), ct);
        await Payloads.PostAcceptedAsync(client, "kept", 3, Payloads.Make("kept", 3, 2000), ct);

        using (var erase = await eraser.DeleteAsync(new Uri("/v1/sessions/erased", UriKind.Relative), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, erase.StatusCode);
        }

        using (var read = await client.GetAsync(new Uri("/v1/sessions/erased", UriKind.Relative), ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        }

        using (var late = await Payloads.PostAsync(client, "erased", 7, Payloads.Make("erased", 7, 2000), ct))
        {
            Assert.Equal(HttpStatusCode.Gone, late.StatusCode);
            Assert.Equal("application/problem+json", late.Content.Headers.ContentType?.MediaType);
        }

        await pipeline.StartWorkerAsync(FastLifecycle, ct);
        // kept's fourth payload was sent after the erased session's: once it is stored the worker has read past them all.
        var rows = new StoredRows(pipeline.ConnectionString);
        await Eventually.TrueAsync(
            async () => await rows.AllAsync(ct) is var all && all.Count(r => r.SessionId == "kept") == 4 && all.All(r => r.SessionId == "kept"),
            TimeSpan.FromSeconds(60), "kept's four payloads stored and the erased session's rows removed", ct);

        Assert.Equal([0L, 1L, 2L, 3L], (await rows.AllAsync(ct)).Select(r => r.Seq));
        Assert.Equal([0L, 1L, 2L, 3L], await Payloads.ListSeqsAsync(client, "kept", 10, ct));
        using var again = await client.GetAsync(new Uri("/v1/sessions/erased/payloads/6", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(0L, await CountAsync(pipeline, "ingest.payload_chunks", ct));
        Assert.Equal(0L, await CountAsync(pipeline, "ingest.pending_uploads", ct));
    }

    private static async Task<long> CountAsync(Pipeline pipeline, string table, CancellationToken ct)
    {
        await using var source = Npgsql.NpgsqlDataSource.Create(pipeline.ConnectionString);
        await using var command = source.CreateCommand($"SELECT count(*) FROM {table}");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
