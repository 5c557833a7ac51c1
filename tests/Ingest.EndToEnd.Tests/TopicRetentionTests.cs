using System.Net;
using System.Text.Json;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// On a real broker the backlog guard reads the payload topic's <c>retention.bytes</c> (DescribeConfigs): with no worker
/// storing, the API accepts about <c>Api:BacklogShare</c> of it per partition, then answers 503 <c>backlog-full</c>; once a
/// worker has stored the backlog, the same session is accepted again. (The mock takes no topic configs; its fixed 5 MiB
/// is what <see cref="StalledWorkerTests"/> and <see cref="RetentionGuardTests"/> run against.)
/// </summary>
public sealed class TopicRetentionTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const long RetentionBytes = 2 * 1024 * 1024;
    private const int PayloadBytes = 64 * 1024;

    [Fact]
    public async Task The_topics_retention_bytes_bound_what_is_accepted_ahead_of_the_workers()
    {
        kafka.SkipIfMock("the mock cluster takes no topic configs (its own fixed 5 MiB is tested by StalledWorkerTests)");
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(
            kafka, postgres, partitions: 2, ct, new Dictionary<string, string> { ["retention.bytes"] = $"{RetentionBytes}" });
        await pipeline.StartApiAsync(["--Api:BacklogShare=0.5"], ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);

        long seq = 0, acceptedBytes = 0;
        HttpResponseMessage refused;
        while (true)
        {
            var response = await Payloads.PostAsync(client, "retained", seq, Incompressible(seq), ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                refused = response;
                break;
            }

            response.Dispose();
            acceptedBytes += PayloadBytes;
            seq++;
            Assert.True(acceptedBytes <= RetentionBytes, $"{acceptedBytes} bytes accepted with no worker storing: more than the topic keeps");
        }

        using (refused)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(ct));
            Assert.Equal("urn:ingest:problem:backlog-full", problem.RootElement.GetProperty("type").GetString());
            Assert.Equal(RetentionBytes / 2, problem.RootElement.GetProperty("limitBytes").GetInt64());
        }

        // About half of 2 MiB went in (64 KiB payloads plus headers and framing), not far less.
        Assert.InRange(acceptedBytes, (RetentionBytes / 2) - (3 * PayloadBytes), RetentionBytes / 2);

        await pipeline.StartWorkerAsync(ct);
        await pipeline.WaitForStoredAsync(seq, TimeSpan.FromSeconds(60), ct);
        await Payloads.PostAcceptedAsync(client, "retained", seq, Incompressible(seq), ct);
    }

    private static byte[] Incompressible(long seq)
    {
        var bytes = new byte[PayloadBytes];
        new Random((int)seq).NextBytes(bytes);
        return bytes;
    }
}
