using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests.Browser;

/// <summary>The recorder bundle as served (type, caching, gzip) and the CORS preflight a recording page's post needs.</summary>
public sealed class SdkEndpointTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string AllowedOrigin = "https://shop.example.com";

    [Fact]
    public async Task Recorder_bundle_is_javascript_cacheable_by_etag_and_gzip_compressed_on_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartApiAsync(ct);
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = pipeline.Api.Address };

        using var plain = await http.GetAsync("/sdk/ingest-recorder.js", ct);
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("text/javascript", plain.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromHours(1), plain.Headers.CacheControl?.MaxAge);
        Assert.True(plain.Headers.CacheControl?.Public);
        var etag = plain.Headers.ETag ?? throw new Xunit.Sdk.XunitException("no ETag");
        var script = await plain.Content.ReadAsByteArrayAsync(ct);
        Assert.Contains("IngestRecorder", System.Text.Encoding.UTF8.GetString(script), StringComparison.Ordinal);

        using var zipped = new HttpRequestMessage(HttpMethod.Get, "/sdk/ingest-recorder.js");
        zipped.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var gzip = await http.SendAsync(zipped, ct);
        Assert.Equal(["gzip"], gzip.Content.Headers.ContentEncoding);
        var compressed = await gzip.Content.ReadAsByteArrayAsync(ct);
        Assert.True(compressed.Length < script.Length / 2, $"gzip {compressed.Length} of {script.Length} bytes");
        TestContext.Current.TestOutputHelper!.WriteLine($"/sdk/ingest-recorder.js: {script.Length} bytes, {compressed.Length} served gzip");
        await using (var unzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress))
        using (var copy = new MemoryStream())
        {
            await unzip.CopyToAsync(copy, ct);
            Assert.Equal(script, copy.ToArray());
        }

        using var revalidate = new HttpRequestMessage(HttpMethod.Get, "/sdk/ingest-recorder.js");
        revalidate.Headers.IfNoneMatch.Add(etag);
        using var notModified = await http.SendAsync(revalidate, ct);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var missing = await http.GetAsync("/sdk/nothing.js", ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData(AllowedOrigin, true)]
    [InlineData("https://elsewhere.example.com", false)]
    public async Task Preflight_of_a_recorder_post_is_answered_for_allowed_origins_only(string origin, bool allowed)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartApiAsync([$"--Ingest:Projects:{Pipeline.Project}:AllowedOrigins:0={AllowedOrigin}"], ct);
        using var http = new HttpClient { BaseAddress = pipeline.Api.Address };

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/sessions/cors-1/payloads?seq=0");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,content-encoding");
        using var response = await http.SendAsync(preflight, ct);

        Assert.True(response.IsSuccessStatusCode, $"preflight answered {(int)response.StatusCode}");
        if (allowed)
        {
            Assert.Equal(origin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
            Assert.Contains("POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
            var headers = response.Headers.GetValues("Access-Control-Allow-Headers").Single().ToLowerInvariant();
            Assert.All(["authorization", "content-type", "content-encoding"], h => Assert.Contains(h, headers, StringComparison.Ordinal));
        }
        else
        {
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }
}
