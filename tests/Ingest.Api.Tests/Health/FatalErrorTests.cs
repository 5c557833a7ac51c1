using System.Net;
using System.Net.Http.Json;
using Confluent.Kafka;
using Ingest.Api.Kafka;
using Ingest.Api.Payloads;
using Ingest.Api.Tests.Hosting;
using Ingest.DevBroker;
using Ingest.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Api.Tests.Health;

/// <summary>A fatal producer error (here raised with librdkafka's own test hook, <see cref="FatalErrors"/>) makes the API build a new producer.</summary>
public sealed class FatalErrorTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Fatal_producer_error_rebuilds_the_producer_and_ingest_resumes()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-fatal", 2, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct);
        using var client = api.Client(ApiHost.IngestReadKey);
        using (var first = await client.SendAsync(Http.Post("s1", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        var producer = api.App.Services.GetRequiredService<PayloadProducer>();
        Assert.Equal(1, producer.Generation);

        Assert.Equal(ErrorCode.NoError, FatalErrors.Raise(producer.Handle, ErrorCode.OutOfOrderSequenceNumber, "injected by FatalErrorTests"));

        var until = DateTime.UtcNow.AddSeconds(30);
        while (producer.Generation < 2 || producer.IsRebuilding)
        {
            Assert.True(DateTime.UtcNow < until, "The producer was not rebuilt within 30 s of a fatal error.");
            await Task.Delay(50, ct); // polling a condition with a deadline
        }

        using var after = await client.SendAsync(Http.Post("s1", "1", "{\"after\":true}"u8.ToArray()), ct);
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        var accepted = (await after.Content.ReadFromJsonAsync<PayloadAccepted>(ct))!;
        Assert.Equal("{\"after\":true}"u8.ToArray(), Contracts.Codec.PayloadCodec.Decode(
            TopicReader.ReadAt(kafka, topic, accepted.Partition, accepted.Offset).Message.Value));
    }
}
