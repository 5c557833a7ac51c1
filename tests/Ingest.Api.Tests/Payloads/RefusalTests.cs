using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// The bad-request corpus: every refusal answers its status (and problem type where the API answers) and is never
/// stored. A sentinel payload is accepted before and after the bad request; the whole topic, read to its end and
/// reassembled by the chunk contract, holds exactly those two complete payloads, intact. Chunks of a refused
/// upload may precede its refusal on the topic, but never its last chunk, so no consumer stores it.
/// </summary>
public sealed class RefusalTests(KafkaFixture kafka)
{
    private static readonly byte[] Json = Encoding.UTF8.GetBytes("{\"ok\":true}");

    [Fact]
    public Task Unknown_key_is_401_with_a_bearer_challenge() =>
        AssertRefusedAsync("wrong-key", Http.Post("s1", "1", Json), 401, "unauthorized", "Authorization", check: response =>
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme));

    [Fact]
    public Task Missing_key_is_401() =>
        AssertRefusedAsync(null, Http.Post("s1", "1", Json), 401, "unauthorized", "Authorization", check: response =>
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString()));

    [Fact]
    public Task Read_only_key_is_403_naming_the_scope() =>
        AssertRefusedAsync(ApiHost.ReadOnlyKey, Http.Post("s1", "1", Json), 403, "missing-scope", "Authorization");

    [Fact]
    public Task Browser_origin_of_another_project_is_403_without_a_cors_grant() =>
        AssertRefusedAsync(ApiHost.IngestReadKey, WithOrigin(Http.Post("s1", "1", Json), ApiHost.OtherOrigin), 403, "origin-not-allowed", "Origin",
            check: response => Assert.False(response.Headers.Contains("Access-Control-Allow-Origin")));

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public Task Other_content_types_are_415(string? contentType) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", "1", Json, contentType), 415, "unsupported-media-type", "Content-Type");

    [Theory]
    [InlineData("br")]
    [InlineData("deflate")]
    public Task Other_content_encodings_are_415(string encoding) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", "1", Json, "application/json", encoding), 415, "unsupported-content-encoding", "Content-Encoding");

    [Theory]
    [InlineData("has.dot")]
    [InlineData("has%20space")]
    public Task Invalid_session_id_is_400(string sessionId) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post(sessionId, "1", Json), 400, "invalid-session-id", "sessionId");

    [Fact]
    public Task Session_id_longer_than_128_is_400() =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post(new string('a', 129), "1", Json), 400, "invalid-session-id", "sessionId");

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.5")]
    [InlineData("9223372036854775808")]
    [InlineData("abc")]
    public Task Invalid_seq_is_400(string? seq) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", seq, Json), 400, "invalid-seq", "seq");

    [Fact]
    public Task Empty_body_is_400() =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", "1", []), 400, "empty-body", "body");

    [Theory]
    [InlineData("gzip")]
    [InlineData("lz4")]
    public Task Body_that_does_not_decode_is_400(string encoding) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", "1", Json, "application/json", encoding), 400, "undecodable-body", "body");

    [Fact]
    public Task Truncated_gzip_is_400() =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", Truncate(PayloadBodyStreamTests.Gzip(Random(100_000))), "application/octet-stream", "gzip"),
            400, "undecodable-body", "body");

    [Fact]
    public Task Over_Api_MaxPayloadBytes_is_413() =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", Random(70_000), "application/octet-stream"), 413, "payload-too-large", "body",
            extraArgs: "--Api:MaxPayloadBytes=65536");

    [Theory]
    [InlineData("gzip")]
    [InlineData("lz4")]
    public Task Decompression_bomb_is_413(string encoding)
    {
        var zeros = new byte[32 * 1024 * 1024];
        var bomb = encoding == "gzip" ? PayloadBodyStreamTests.Gzip(zeros) : PayloadBodyStreamTests.Lz4Frame(zeros);
        return AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", bomb, "application/octet-stream", encoding), 413, "payload-too-large", "body",
            extraArgs: "--Api:MaxPayloadBytes=1048576");
    }

    [Theory]
    [InlineData("s%C3%A9ance")] // é
    [InlineData("%F0%9F%93%BC")] // an emoji
    [InlineData("%EF%BC%A1")] // fullwidth A, which a lax ASCII check might fold
    public Task Unicode_session_id_is_400(string sessionId) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post(sessionId, "1", Json), 400, "invalid-session-id", "sessionId");

    [Theory]
    [InlineData("0x10")]
    [InlineData(" 1")]
    [InlineData("1e3")]
    [InlineData("99999999999999999999999")]
    public Task More_invalid_seqs_are_400(string seq) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", seq, Json), 400, "invalid-seq", "seq");

    [Fact]
    public Task Duplicate_seq_parameter_is_400()
    {
        var request = Http.Post("s1", "1", Json);
        request.RequestUri = new Uri("/v1/sessions/s1/payloads?seq=1&seq=2", UriKind.Relative);
        return AssertRefusedAsync(ApiHost.IngestReadKey, request, 400, "invalid-seq", "seq");
    }

    [Fact]
    public Task Seq_in_another_parameter_is_400()
    {
        var request = Http.Post("s1", "1", Json);
        request.RequestUri = new Uri("/v1/sessions/s1/payloads?sequence=1", UriKind.Relative);
        return AssertRefusedAsync(ApiHost.IngestReadKey, request, 400, "invalid-seq", "seq");
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/json-patch+json")]
    public Task More_content_types_are_415(string contentType) =>
        AssertRefusedAsync(ApiHost.IngestReadKey, Http.Post("s1", "1", Json, contentType), 415, "unsupported-media-type", "Content-Type");

    [Theory]
    [InlineData("gzip, gzip")]
    [InlineData("gzip, lz4")]
    [InlineData("compress")]
    public Task Duplicated_or_unknown_encodings_are_415(string encoding)
    {
        var request = Http.Post("s1", "1", PayloadBodyStreamTests.Gzip(Json), "application/json");
        request.Content!.Headers.TryAddWithoutValidation("Content-Encoding", encoding);
        return AssertRefusedAsync(ApiHost.IngestReadKey, request, 415, "unsupported-content-encoding", "Content-Encoding");
    }

    [Fact]
    public Task Truncated_lz4_is_400() =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", Truncate(PayloadBodyStreamTests.Lz4Frame(Random(100_000))), "application/octet-stream", "lz4"),
            400, "undecodable-body", "body");

    [Fact]
    public Task Gzip_with_a_flipped_byte_is_400()
    {
        var wire = PayloadBodyStreamTests.Gzip(Random(100_000));
        wire[wire.Length / 2] ^= 0x40;
        return AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", wire, "application/octet-stream", "gzip"), 400, "undecodable-body", "body");
    }

    [Fact]
    public Task Lz4_with_a_corrupt_block_is_400()
    {
        var wire = PayloadBodyStreamTests.Lz4Frame(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"event\":1},", 20_000))));
        wire[9] ^= 0x70; // the first block's size (bytes 7-10, after the 7-byte frame header) now exceeds any block
        return AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", wire, "application/json", "lz4"), 400, "undecodable-body", "body");
    }

    [Fact]
    public Task Corrupt_gzip_after_many_chunks_is_400_and_no_last_chunk_goes_out()
    {
        var wire = PayloadBodyStreamTests.Gzip(Random(400_000));
        wire[^5] ^= 0x01; // the trailer's length: found only at the very end
        return AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", wire, "application/octet-stream", "gzip"), 400, "undecodable-body", "body",
            extraArgs: "--Api:ChunkBytes=65536");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("lz4")]
    public Task Empty_compressed_body_is_400(string encoding) =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey,
            Http.Post("s1", "1", encoding == "gzip" ? PayloadBodyStreamTests.Gzip([]) : PayloadBodyStreamTests.Lz4Frame([]), "application/json", encoding),
            400, "empty-body", "body");

    [Fact]
    public Task Over_the_limit_after_several_chunks_is_413() =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", Random(300_000), "application/octet-stream"), 413, "payload-too-large", "body",
            extraArgs: ["--Api:MaxPayloadBytes=200000", "--Api:ChunkBytes=32768"]);

    [Fact]
    public Task Huge_headers_are_431_from_Kestrel() =>
        AssertNothingStoredAsync(async (api, ct) =>
        {
            using var client = api.Client(ApiHost.IngestReadKey);
            using var request = Http.Post("s1", "1", Json);
            request.Headers.Add("X-Padding", new string('x', 40 * 1024));
            using var response = await client.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        });

    [Fact]
    public Task Body_shorter_than_its_Content_Length_is_never_stored() =>
        AssertNothingStoredAsync(async (api, ct) =>
        {
            await using var raw = await RawHttp.ConnectAsync(api.Address, ct);
            await raw.SendAsync(RawHttp.PostHead("s1", 1, contentLength: 100_000), ct);
            await raw.SendAsync(Random(40_000), ct);
            raw.EndWrites();
            // Kestrel treats the end of input as the connection closing: it answers nothing (or, racing, our 400).
            var status = await raw.ReadStatusAsync(ct);
            Assert.True(status is null or 400, $"Expected no answer or 400, got {status}.");
        });

    [Fact]
    public Task Body_slower_than_MinRequestBodyDataRate_is_408_from_Kestrel() =>
        AssertNothingStoredAsync(async (api, ct) =>
        {
            // Slowloris on the body: a few bytes, then nothing. Kestrel times it out once the 10 s grace is over.
            await using var raw = await RawHttp.ConnectAsync(api.Address, ct);
            await raw.SendAsync(RawHttp.PostHead("s1", 1, contentLength: 100_000), ct);
            await raw.SendAsync(Random(100), ct);
            var status = await raw.ReadStatusAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
            Assert.Equal(408, status);
        });

    [Fact]
    public Task Gzip_bomb_with_a_small_Content_Length_is_413() =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", PayloadBodyStreamTests.Gzip(new byte[8 * 1024 * 1024]), "application/octet-stream", "gzip"),
            413, "payload-too-large", "body", extraArgs: ["--Api:MaxPayloadBytes=1000000", "--Api:ChunkBytes=65536"]);

    [Fact]
    public Task Bearer_with_an_empty_key_is_401()
    {
        var request = Http.Post("s1", "1", Json);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer");
        return AssertRefusedAsync(null, request, 401, "unauthorized", "Authorization");
    }

    private static byte[] Random(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Truncate(byte[] bytes) => bytes[..(bytes.Length - 100)];

    private static HttpRequestMessage WithOrigin(HttpRequestMessage request, string origin)
    {
        request.Headers.Add("Origin", origin);
        return request;
    }

    private Task AssertRefusedAsync(
        string? key, HttpRequestMessage request, int status, string slug, string field, Action<HttpResponseMessage>? check = null, params string[] extraArgs) =>
        AssertNothingStoredAsync(
            async (api, ct) =>
            {
                using var client = api.Client(key);
                using (request)
                using (var response = await client.SendAsync(request, ct))
                {
                    await Http.AssertProblemAsync(response, status, slug, field);
                    check?.Invoke(response);
                }
            },
            extraArgs);

    private async Task AssertNothingStoredAsync(Func<ApiHost, CancellationToken, Task> refuse, params string[] extraArgs)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-refused", partitions: 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, extraArgs);
        using var sentinelClient = api.Client(ApiHost.IngestReadKey);
        using (var before = await sentinelClient.SendAsync(Http.Post("before", "0", Json), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        }

        await refuse(api, ct);

        using (var after = await sentinelClient.SendAsync(Http.Post("after", "0", Json), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        }

        var complete = ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out _);
        Assert.Equal(["after", "before"], complete.Select(p => p.Last.SessionId).Order());
        Assert.All(complete, p => Assert.Equal(Json, p.Bytes));
    }
}
