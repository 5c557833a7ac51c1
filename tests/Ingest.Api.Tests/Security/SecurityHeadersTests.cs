using System.Net;
using System.Text;
using Ingest.Api.Recorder;
using Ingest.Api.Security;
using Ingest.Api.Sessions;
using Ingest.Api.Status;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Security;

/// <summary>nosniff and Referrer-Policy on every kind of answer; the CSP each kind needs; stored payloads served inert.</summary>
public sealed class SecurityHeadersTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Session = "headers-1";

    [Fact]
    public async Task Every_kind_of_answer_carries_nosniff_no_referrer_and_its_content_security_policy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var anonymous = api.Client();
        using var reader = api.Client(ApiHost.ReadOnlyKey);

        (string What, HttpClient Client, HttpRequestMessage Request, int Status, string Policy)[] cases =
        [
            ("health JSON", anonymous, Get("/healthz"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("status data", anonymous, Get("/status/data"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("status page", anonymous, Get("/status"), 200, StatusPage.ContentSecurityPolicy),
            ("status history", anonymous, Get("/status/history"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("status script", anonymous, Get("/sdk/ingest-status.js"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("status styles", anonymous, Get("/sdk/ingest-status.css"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("favicon.ico", anonymous, Get("/favicon.ico"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("favicon.svg", anonymous, Get("/favicon.svg"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("replay page", anonymous, Get("/replay/s1"), 200, ReplayPage.ContentSecurityPolicy),
            ("recorder bundle", anonymous, Get("/sdk/ingest-recorder.js"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("401 problem", anonymous, Get($"/v1/sessions/{Session}"), 401, SecurityHeaders.DefaultContentSecurityPolicy),
            ("404 problem", reader, Get("/v1/sessions/nothing-here"), 404, SecurityHeaders.DefaultContentSecurityPolicy),
            ("session JSON", reader, Get($"/v1/sessions/{Session}/payloads"), 200, SecurityHeaders.DefaultContentSecurityPolicy),
            ("payload", reader, Get($"/v1/sessions/{Session}/payloads/0"), 200, StoredPayloadResult.ContentSecurityPolicy),
            ("CORS preflight", anonymous, Preflight(), 204, SecurityHeaders.DefaultContentSecurityPolicy),
            ("unknown path", anonymous, Get("/nothing"), 404, SecurityHeaders.DefaultContentSecurityPolicy),
        ];
        foreach (var (what, client, request, status, policy) in cases)
        {
            using (request)
            using (var response = await client.SendAsync(request, ct))
            {
                Assert.True(status == (int)response.StatusCode, $"{what}: {(int)response.StatusCode}");
                Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) && sniff.Single() == "nosniff", what);
                Assert.True(response.Headers.TryGetValues("Referrer-Policy", out var referrer) && referrer.Single() == "no-referrer", what);
                Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var csp), $"{what}: no CSP");
                Assert.Equal(policy, csp.Single());
            }
        }

        Assert.Contains("frame-ancestors 'none'", StatusPage.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", ReplayPage.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", StatusPage.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("'unsafe-inline'", ReplayPage.ContentSecurityPolicy.Split(';').Single(d => d.Trim().StartsWith("script-src", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "application/json", "application/json", false)]
    [InlineData(1, "application/octet-stream", "application/octet-stream", true)]
    [InlineData(2, "text/html", "application/octet-stream", true)] // a type ingest never admits (another producer's row)
    [InlineData(3, "image/svg+xml", "application/octet-stream", true)]
    public async Task Payloads_are_served_only_as_json_or_octet_stream_sandboxed_and_binary_ones_as_a_download(
        long seq, string stored, string served, bool download)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await StartWithRowsAsync(ct);
        using var reader = api.Client(ApiHost.ReadOnlyKey);

        using var response = await reader.GetAsync($"/v1/sessions/{Session}/payloads/{seq}", ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(served, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Body(seq, stored), await response.Content.ReadAsByteArrayAsync(ct));
        Assert.Equal("default-src 'none'; sandbox", response.Headers.GetValues("Content-Security-Policy").Single());
        var disposition = response.Content.Headers.ContentDisposition;
        if (download)
        {
            Assert.Equal("attachment", disposition?.DispositionType);
            Assert.Equal($"{Session}-{seq}.bin", disposition?.FileName?.Trim('"'));
        }
        else
        {
            Assert.Null(disposition);
        }
    }

    private static byte[] Body(long seq, string contentType) => Encoding.UTF8.GetBytes(
        contentType == "application/json" ? $"{{\"seq\":{seq}}}" : $"<html><script>alert({seq})</script></html>");

    private async Task<ApiHost> StartWithRowsAsync(CancellationToken ct)
    {
        var database = await postgres.CreateDatabaseAsync(ct);
        var rows = new StoredRows(database);
        await rows.ApplySchemaAsync(ct);
        string[] types = ["application/json", "application/octet-stream", "text/html", "image/svg+xml"];
        for (var seq = 0; seq < types.Length; seq++)
        {
            await rows.InsertAsync(ApiHost.Project, Session, seq, Body(seq, types[seq]), types[seq], partition: 0, offset: seq, ct);
        }

        return await ApiHost.StartAsync(kafka, "unused-topic", database, ct);
    }

    private static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    private static HttpRequestMessage Preflight()
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v1/sessions/s1/payloads?seq=1");
        request.Headers.Add("Origin", ApiHost.AllowedOrigin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return request;
    }
}
