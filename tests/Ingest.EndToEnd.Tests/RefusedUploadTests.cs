using System.Net;
using System.Security.Cryptography;
using Ingest.Testing;
using Npgsql;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// A chunked upload the API refuses part-way, through the real API, broker, worker and Postgres: its staged chunks are
/// dropped as soon as the worker reads its abort marker (not after the 15 minutes of Worker:AbandonedUploadAfter), and
/// the client's retry of the same (session, seq) is stored intact.
/// </summary>
public sealed class RefusedUploadTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task A_refused_upload_leaves_no_staged_chunks_and_its_retry_is_stored_intact()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);
        await pipeline.StartApiAsync(["--Api:MaxPayloadBytes=300000", "--Api:ChunkBytes=65536"], ct);
        await pipeline.StartWorkerAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestOnlyKey);
        var tooLarge = Payloads.Make("refused", 0, 300_001)[..300_001];
        var retry = Payloads.Make("refused", 0, 290_000)[..290_000];

        using (var refused = await Payloads.PostAsync(client, "refused", 0, tooLarge, ct))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode); // after 4 chunks of 64 KiB were produced
        }

        await Payloads.PostAcceptedAsync(client, "refused", 0, retry, ct);
        await pipeline.WaitForStoredAsync(1, TimeSpan.FromSeconds(60), ct);

        // Promptly: the only staged chunks left are the stored payload's; the refused upload is an aborted tombstone.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (await ScalarAsync(pipeline, "SELECT count(*) FROM ingest.payload_chunks c JOIN ingest.payloads p USING (payload_id)") is var ofStored
            && await ScalarAsync(pipeline, "SELECT count(*) FROM ingest.payload_chunks") is var all
            && all != ofStored)
        {
            Assert.True(DateTime.UtcNow < until, $"{all - ofStored} staged chunk(s) of the refused upload still there after 30 s");
            await Task.Delay(100, ct); // polling a condition with a deadline
        }

        Assert.Equal(1, await ScalarAsync(pipeline, "SELECT count(*) FROM ingest.pending_uploads WHERE aborted"));
        Assert.Equal(0, await ScalarAsync(pipeline, "SELECT count(*) FROM ingest.pending_uploads WHERE NOT aborted"));
        using var reader = pipeline.Client(Pipeline.ReadOnlyKey);
        var stored = await reader.GetByteArrayAsync(new Uri("/v1/sessions/refused/payloads/0", UriKind.Relative), ct);
        Assert.Equal(SHA256.HashData(retry), SHA256.HashData(stored));
    }

    private static async Task<long> ScalarAsync(Pipeline pipeline, string sql)
    {
        await using var connection = new NpgsqlConnection(pipeline.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}
