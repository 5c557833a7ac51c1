using System.Net;
using System.Text;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;

namespace Ingest.Api.Tests.Health;

/// <summary>
/// Every MeterProvider in a process exports every meter named <c>Ingest.Api</c>, whichever API instance made it,
/// so counts are exact only while no other API in this test process is posting.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class MetricsTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Metrics_count_accepted_payloads_bytes_and_refusals()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-metrics", 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(ApiHost.IngestReadKey);
        using var anonymous = api.Client();
        using (var accepted = await client.SendAsync(Http.Post("s1", "1", Encoding.UTF8.GetBytes("{\"a\":12345}")), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        using (var refused = await anonymous.SendAsync(Http.Post("s1", "2", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var text = await anonymous.GetStringAsync("/metrics", ct);

        Assert.Matches(@"(?m)^ingest_api_payloads_accepted_total\{[^}]*\} 1( |$)", text);
        Assert.Matches(@"(?m)^ingest_api_payload_bytes_accepted_bytes_total\{[^}]*\} 11( |$)", text);
        Assert.Matches(@"(?m)^ingest_api_payloads_refused_total\{[^}]*http_response_status_code=""401""[^}]*\} 1( |$)", text);
        Assert.Matches(@"(?m)^ingest_api_produce_duration_seconds_count\{[^}]*outcome=""delivered""[^}]*\} 1( |$)", text);
    }
}
