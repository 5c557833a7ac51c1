using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>Chunked payloads through the whole pipeline: API chunks, worker reassembles, GET streams them back.</summary>
public sealed class LargePayloadTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const long HundredMiB = 100L * 1024 * 1024;

    [Fact]
    public async Task A_100_MiB_payload_round_trips_byte_identical()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 4, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        client.Timeout = TimeSpan.FromMinutes(8);
        using var upload = new PacedUpload(pipeline.ConnectionString, HundredMiB);
        upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using (var response = await client.PostAsync("/v1/sessions/big-session/payloads?seq=1", upload, ct))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(ct));
        }

        await pipeline.WaitForStoredAsync(1, TimeSpan.FromMinutes(2), ct);
        using var read = await client.GetAsync("/v1/sessions/big-session/payloads/1", HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HundredMiB, read.Content.Headers.ContentLength);
        await using var body = await read.Content.ReadAsStreamAsync(ct);
        Assert.Equal(Convert.ToHexString(upload.Sha256), Convert.ToHexString(await SHA256.HashDataAsync(body, ct)));
    }

    [Fact]
    public async Task One_byte_and_a_three_chunk_payload_round_trip()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        var threeChunks = PacedUpload.Block(7, 700_000);

        await Payloads.PostAcceptedAsync(client, "small", 0, [0x7B], ct);
        await Payloads.PostAcceptedAsync(client, "small", 1, threeChunks, ct);

        await pipeline.WaitForStoredAsync(2, TimeSpan.FromSeconds(60), ct);
        Assert.Equal([0x7B], await client.GetByteArrayAsync("/v1/sessions/small/payloads/0", ct));
        Assert.Equal(SHA256.HashData(threeChunks), SHA256.HashData(await client.GetByteArrayAsync("/v1/sessions/small/payloads/1", ct)));
    }

    [Fact]
    public async Task A_gzip_body_ending_exactly_on_a_chunk_boundary_ends_with_an_empty_last_chunk_and_is_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        var payload = PacedUpload.Block(3, 2 * Ingest.Contracts.Chunking.PayloadChunking.DefaultChunkBytes);
        using var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(payload);
        }

        using var content = new ByteArrayContent(gzipped.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        using (var response = await client.PostAsync("/v1/sessions/boundary/payloads?seq=0", content, ct))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(ct));
        }

        await pipeline.WaitForStoredAsync(1, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(await client.GetByteArrayAsync("/v1/sessions/boundary/payloads/0", ct)));
    }
}
