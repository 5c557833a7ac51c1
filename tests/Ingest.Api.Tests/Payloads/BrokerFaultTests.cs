using System.Net;
using Confluent.Kafka;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;
using Ingest.Testing.MockKafka;

namespace Ingest.Api.Tests.Payloads;

[Collection(nameof(RunsAlone))]
public sealed class BrokerFaultTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Not_enough_replicas_until_the_delivery_timeout_is_503_and_a_retry_is_202()
    {
        if (!kafka.IsMock)
        {
            Assert.Skip("Needs the mock cluster's request-error injection.");
        }

        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-faults", 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:DeliveryTimeout=00:00:01");
        using var client = api.Client(ApiHost.IngestReadKey);
        using (var warmUp = await client.SendAsync(Http.Post("s1", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, warmUp.StatusCode); // producer id and leaders known before the fault
        }

        // More errors than librdkafka's retries fit into one second of message.timeout.ms.
        kafka.Mock!.PushRequestErrors(KafkaApiKey.Produce, [.. Enumerable.Repeat(ErrorCode.NotEnoughReplicas, 60)]);
        try
        {
            using var refused = await client.SendAsync(Http.Post("s1", "1", "{\"n\":1}"u8.ToArray()), ct);

            await Http.AssertProblemAsync(refused, 503, "broker-unavailable");
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        finally
        {
            kafka.Mock.ClearRequestErrors(KafkaApiKey.Produce);
        }

        using var retried = await client.SendAsync(Http.Post("s1", "1", "{\"n\":1}"u8.ToArray()), ct);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
    }
}
