using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// The embedded broker (librdkafka's mock cluster, <see cref="OwnClusterPipeline"/>) keeps ~5 MiB per partition and drops
/// older data silently. Uploads far larger than that, sent as fast as the API reads them, are paced by the API's backlog
/// guard on the workers' committed offsets and read back byte-identical: nothing accepted is lost to retention.
/// </summary>
public sealed class RetentionGuardTests(PostgresFixture postgres)
{
    private const long HundredMiB = 100L * 1024 * 1024;

    [Fact]
    public async Task A_100_MiB_incompressible_payload_is_paced_by_the_worker_and_reads_back_identical()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await OwnClusterPipeline.CreateAsync(postgres, partitions: 4, ct);
        await pipeline.StartAsync([], ct);
        using var client = pipeline.Client();
        client.Timeout = TimeSpan.FromMinutes(5);

        var clock = Stopwatch.StartNew();
        var (sha256, status) = await UploadAsync(client, "big-0", HundredMiB, seed: 1, ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"100 MiB accepted in {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.Equal(HttpStatusCode.Accepted, status);
        await Eventually.UntilAsync(() => pipeline.StoredCountAsync(ct), n => n == 1, TimeSpan.FromMinutes(2), n => $"{n} stored", ct);
        Assert.Equal(sha256, await ReadBackAsync(client, "big-0", HundredMiB, ct));
    }

    [Fact]
    public async Task Five_concurrent_100_MiB_payloads_on_one_worker_all_read_back_identical()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await OwnClusterPipeline.CreateAsync(postgres, partitions: 4, ct);
        await pipeline.StartAsync([], ct);
        using var client = pipeline.Client();
        client.Timeout = TimeSpan.FromMinutes(8);

        var clock = Stopwatch.StartNew();
        var uploads = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => UploadAsync(client, $"big-{i}", HundredMiB, seed: 10 + i, ct)));
        TestContext.Current.TestOutputHelper?.WriteLine($"5 × 100 MiB accepted in {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.All(uploads, u => Assert.Equal(HttpStatusCode.Accepted, u.Status));
        await Eventually.UntilAsync(() => pipeline.StoredCountAsync(ct), n => n == 5, TimeSpan.FromMinutes(3), n => $"{n} of 5 stored", ct);
        for (var i = 0; i < uploads.Length; i++)
        {
            Assert.Equal(uploads[i].Sha256, await ReadBackAsync(client, $"big-{i}", HundredMiB, ct));
        }
    }

    private static async Task<(string Sha256, HttpStatusCode Status)> UploadAsync(
        HttpClient client, string session, long length, int seed, CancellationToken ct)
    {
        using var upload = new RandomUpload(length, seed);
        using var response = await client.PostAsync($"/v1/sessions/{session}/payloads?seq=0", upload, ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{session}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        return (Convert.ToHexString(upload.Sha256), response.StatusCode);
    }

    private static async Task<string> ReadBackAsync(HttpClient client, string session, long length, CancellationToken ct)
    {
        using var read = await client.GetAsync($"/v1/sessions/{session}/payloads/0", HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(length, read.Content.Headers.ContentLength);
        await using var body = await read.Content.ReadAsStreamAsync(ct);
        return Convert.ToHexString(await SHA256.HashDataAsync(body, ct));
    }
}
