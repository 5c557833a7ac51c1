using System.Net;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Health;

/// <summary>/healthz, /readyz and /metrics: no key needed, readiness follows the broker.</summary>
public sealed class HealthTests(KafkaFixture kafka)
{
    /// <summary>Nothing listens on port 1 of loopback: every connection is refused at once.</summary>
    private const string NoBroker = "127.0.0.1:1";

    [Fact]
    public async Task Healthz_answers_without_a_key_even_with_no_broker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ApiHost.StartAsync(NoBroker, new Dictionary<string, string>(), "t", Http.UnusedDatabase, null, ct);
        using var client = api.Client();

        using var response = await client.GetAsync("/healthz", ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Readyz_is_200_once_the_broker_answers()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-ready", 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client();

        var status = await WaitForReadyzAsync(client, HttpStatusCode.OK, ct);

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Readyz_is_503_problem_without_a_broker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ApiHost.StartAsync(NoBroker, new Dictionary<string, string>(), "t", Http.UnusedDatabase, null, ct);
        using var client = api.Client();

        using var response = await client.GetAsync("/readyz", ct);

        await Http.AssertProblemAsync(response, 503, "not-ready");
    }

    [Fact]
    public async Task Post_without_a_broker_is_503_with_retry_after_never_202()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ApiHost.StartAsync(
            NoBroker, new Dictionary<string, string>(), "t", Http.UnusedDatabase, ["--Api:DeliveryTimeout=00:00:01", "--Api:RetryAfterSeconds=7"], ct);
        using var client = api.Client(ApiHost.IngestReadKey);

        using var response = await client.SendAsync(Http.Post("s1", "1", "{}"u8.ToArray()), ct);

        await Http.AssertProblemAsync(response, 503, "broker-unavailable");
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Cors_preflight_is_answered_for_a_configured_origin_only()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await ApiHost.StartAsync(NoBroker, new Dictionary<string, string>(), "t", Http.UnusedDatabase, null, ct);
        using var client = api.Client();

        using var allowed = await client.SendAsync(Preflight(ApiHost.AllowedOrigin), ct);
        using var unknown = await client.SendAsync(Preflight("https://elsewhere.example"), ct);

        Assert.Equal(ApiHost.AllowedOrigin, Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.False(unknown.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v1/sessions/s1/payloads?seq=1");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,content-encoding");
        return request;
    }

    private static async Task<HttpStatusCode> WaitForReadyzAsync(HttpClient client, HttpStatusCode wanted, CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var response = await client.GetAsync("/readyz", ct);
            if (response.StatusCode == wanted || DateTime.UtcNow > until)
            {
                return response.StatusCode;
            }

            await Task.Delay(100, ct); // polling a condition with a deadline
        }
    }
}
