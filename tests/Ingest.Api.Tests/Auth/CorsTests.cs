using System.Net;
using System.Text;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Auth;

/// <summary>
/// CORS on the payload POST: the preflight (no key, no project in the path) for the union of the projects' origins; the
/// real request's answer for the key's own project only.
/// </summary>
public sealed class CorsTests(KafkaFixture kafka)
{
    private const string Elsewhere = "https://elsewhere.example";

    [Fact]
    public async Task Preflight_is_granted_to_every_project_s_origins_and_to_no_other()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ApiHost.StartAsync(kafka, "cors-unused", Http.UnusedDatabase, ct);
        using var client = api.Client();

        foreach (var (origin, granted) in new[] { (ApiHost.AllowedOrigin, true), (ApiHost.OtherOrigin, true), (Elsewhere, false) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, "/v1/sessions/s1/payloads?seq=0");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            using var response = await client.SendAsync(request, ct);

            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(granted, response.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    [Theory]
    [InlineData(ApiHost.IngestReadKey, ApiHost.AllowedOrigin, 202, true)] // p1's key from p1's page
    [InlineData(ApiHost.OtherProjectKey, ApiHost.OtherOrigin, 202, true)] // p2's key from p2's page
    [InlineData(ApiHost.IngestReadKey, ApiHost.OtherOrigin, 403, false)] // p1's public key from p2's page: refused, unreadable
    [InlineData(ApiHost.OtherProjectKey, ApiHost.AllowedOrigin, 403, false)]
    [InlineData("not-a-key", ApiHost.AllowedOrigin, 401, true)] // no project known: the union, so a recorder reads its 401
    [InlineData("not-a-key", Elsewhere, 401, false)]
    public async Task Post_answer_grants_cors_only_to_the_key_s_own_project_s_origins(string key, string origin, int status, bool granted)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-cors", 1, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(key);
        using var request = Http.Post("cors-1", "0", Encoding.UTF8.GetBytes("{}"));
        request.Headers.Add("Origin", origin);

        using var response = await client.SendAsync(request, ct);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(granted, response.Headers.Contains("Access-Control-Allow-Origin"));
        if (granted)
        {
            Assert.Equal(origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("Retry-After", response.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
        }
    }
}
