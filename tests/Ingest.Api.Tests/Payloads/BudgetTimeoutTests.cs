using Confluent.Kafka;
using Ingest.Api.Tests.Hosting;
using Ingest.DevBroker;
using Ingest.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// Uploads in progress that wait for budget longer than Api:BudgetWaitTimeout get 503, never a hang and never a
/// last chunk. Kafka is made slow (3 s round trips) on a mock cluster of the test's own.
/// </summary>
public sealed class BudgetTimeoutTests
{
    private const int ChunkBytes = 262_144;

    [Fact]
    public async Task Uploads_starved_of_budget_by_a_slow_broker_get_503_and_are_never_completed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = new MockCluster(brokers: 3);
        var topic = $"api-budget-timeout-{Guid.NewGuid():N}";
        cluster.CreateTopic(topic, 1, 3);
        await using var api = await ApiHost.StartAsync(
            cluster.BootstrapServers,
            new Dictionary<string, string>(),
            topic,
            Http.UnusedDatabase,
            [$"--Api:ChunkBytes={ChunkBytes}", "--Api:ChunksInFlight=4", $"--Api:InFlightBudgetBytes={ChunkBytes * 6}", "--Api:BudgetWaitTimeout=00:00:01", "--Api:ProjectLimits:BudgetShare=1"],
            ct);
        using (var client = api.Client(ApiHost.IngestReadKey))
        using (var warmUp = await client.SendAsync(Http.Post("warm", "0", "{}"u8.ToArray()), ct))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, warmUp.StatusCode); // producer id and leaders known
        }

        for (var broker = 1; broker <= cluster.BrokerCount; broker++)
        {
            cluster.SetBrokerRtt(broker, 3000);
        }

        // Two uploads start while budget is free, then need 10 chunks' worth against a budget of 6.
        var bodies = new[] { ChunkingTests.Mixed(2_000_000, 21), ChunkingTests.Mixed(2_000_000, 22) };
        var uploads = new List<RawHttp>();
        for (var i = 0; i < bodies.Length; i++)
        {
            var raw = await RawHttp.ConnectAsync(api.Address, ct);
            uploads.Add(raw);
            await raw.SendAsync(RawHttp.PostHead($"starved-{i}", 0, bodies[i].Length), ct);
            await raw.SendAsync(bodies[i].AsMemory(0, 1000), ct);
        }

        var started = DateTime.UtcNow;
        var sending = bodies.Select((body, i) => uploads[i].SendAsync(body.AsMemory(1000), ct)).ToList();
        var statuses = await Task.WhenAll(uploads.Select(raw => raw.ReadStatusAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct)));

        Assert.Contains(503, statuses.Cast<int>());
        Assert.All(statuses, s => Assert.True(s is 202 or 503, $"status {s}"));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(45), "answers came late");
        for (var broker = 1; broker <= cluster.BrokerCount; broker++)
        {
            cluster.SetBrokerRtt(broker, 0);
        }

        foreach (var raw in uploads)
        {
            await raw.DisposeAsync();
        }

        await Task.WhenAll(sending.Select(s => s.ContinueWith(_ => { }, TaskScheduler.Default))); // a refused upload's socket may be closed mid-send
        var complete = ProducedPayload.Reassemble(ReadAll(cluster.BootstrapServers, topic), out _);
        string[] expected = ["warm", .. statuses.Select((s, i) => (s, i)).Where(x => x.s == 202).Select(x => $"starved-{x.i}")];
        Assert.Equal(expected.Order(), complete.Select(p => p.Last.SessionId).Order());
    }

    private static List<ConsumeResult<byte[], byte[]>> ReadAll(string bootstrapServers, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"budget-timeout-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).Build();
        var end = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var messages = new List<ConsumeResult<byte[], byte[]>>();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (messages.Count < end)
        {
            Assert.True(DateTime.UtcNow < until, $"Read {messages.Count} of {end} messages.");
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                messages.Add(result);
            }
        }

        return messages;
    }
}
