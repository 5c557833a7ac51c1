using System.Net;
using Confluent.Kafka;
using Ingest.Api.Tests.Hosting;
using Ingest.DevBroker;

namespace Ingest.Api.Tests.Payloads;

/// <summary>Request errors only librdkafka's mock cluster can inject: on a cluster of the test's own, whatever the suite's broker.</summary>
[Collection(nameof(RunsAlone))]
public sealed class BrokerFaultTests
{
    [Fact]
    public async Task Not_enough_replicas_until_the_delivery_timeout_is_503_and_a_retry_is_202()
    {
        var ct = TestContext.Current.CancellationToken;
        using var mock = new MockCluster(brokers: 3);
        const string topic = "api-faults";
        mock.CreateTopic(topic, 2, 3);
        await using var api = await ApiHost.StartAsync(
            mock.BootstrapServers, new Dictionary<string, string>(), topic, Http.UnusedDatabase, ["--Api:DeliveryTimeout=00:00:01"], ct);
        using var client = api.Client(ApiHost.IngestReadKey);
        using (var warmUp = await client.SendAsync(Http.Post("s1", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, warmUp.StatusCode); // producer id and leaders known before the fault
        }

        // More errors than librdkafka's retries fit into one second of message.timeout.ms.
        mock.PushRequestErrors(KafkaApiKey.Produce, [.. Enumerable.Repeat(ErrorCode.NotEnoughReplicas, 60)]);
        try
        {
            using var refused = await client.SendAsync(Http.Post("s1", "1", "{\"n\":1}"u8.ToArray()), ct);

            await Http.AssertProblemAsync(refused, 503, "broker-unavailable");
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        finally
        {
            mock.ClearRequestErrors(KafkaApiKey.Produce);
        }

        using var retried = await client.SendAsync(Http.Post("s1", "1", "{\"n\":1}"u8.ToArray()), ct);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
    }
}
