using System.Net;
using System.Text;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Envelope;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// Every 4xx leaves the topic untouched: after the refused request a valid sentinel is posted, and the
/// whole topic, read to its end, holds the sentinel only.
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
    public Task Browser_origin_of_another_project_is_403() =>
        AssertRefusedAsync(ApiHost.IngestReadKey, WithOrigin(Http.Post("s1", "1", Json), ApiHost.OtherOrigin), 403, "origin-not-allowed", "Origin");

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
            ApiHost.IngestReadKey, Http.Post("s1", "1", Truncate(PayloadBodyReaderTests.Gzip(Random(100_000))), "application/octet-stream", "gzip"),
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
        var bomb = encoding == "gzip" ? PayloadBodyReaderTests.Gzip(zeros) : PayloadBodyReaderTests.Lz4Frame(zeros);
        return AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", bomb, "application/octet-stream", encoding), 413, "payload-too-large", "body",
            extraArgs: "--Api:MaxPayloadBytes=1048576");
    }

    [Fact]
    public Task Over_one_Kafka_message_is_413_naming_the_limit() =>
        AssertRefusedAsync(
            ApiHost.IngestReadKey, Http.Post("s1", "1", Random(30_000), "application/octet-stream"), 413, "message-too-large", "body",
            check: null, "--Kafka:message.max.bytes=20000");

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

    private async Task AssertRefusedAsync(
        string? key, HttpRequestMessage request, int status, string slug, string field, Action<HttpResponseMessage>? check = null, params string[] extraArgs)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-refused", partitions: 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, extraArgs);

        using (var client = api.Client(key))
        using (request)
        using (var response = await client.SendAsync(request, ct))
        {
            await Http.AssertProblemAsync(response, status, slug, field);
            check?.Invoke(response);
        }

        using var sentinelClient = api.Client(ApiHost.IngestReadKey);
        using var sentinel = await sentinelClient.SendAsync(Http.Post("sentinel", "0", Json), ct);
        Assert.Equal(HttpStatusCode.Accepted, sentinel.StatusCode);
        var message = Assert.Single(TopicReader.ReadAll(kafka, topic));
        Assert.Equal("sentinel", PayloadEnvelope.ReadFrom(message.Message.Headers).SessionId);
    }
}
