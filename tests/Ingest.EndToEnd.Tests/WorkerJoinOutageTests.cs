using System.Text;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// Every broker goes down right after a worker started, while it checks its topic and joins its group: once they are
/// back it joins and stores what was accepted before the outage. Runs on a mock cluster of its own
/// (<see cref="OwnClusterPipeline"/>).
/// </summary>
public sealed class WorkerJoinOutageTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_worker_that_starts_as_every_broker_goes_down_stores_once_they_are_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await OwnClusterPipeline.CreateAsync(postgres, partitions: 2, ct);
        await pipeline.StartAsync(["--Api:DeliveryTimeout=00:00:02"], ct);
        using var client = pipeline.Client();
        await Payloads.PostAcceptedAsync(client, "joining", 0, Encoding.UTF8.GetBytes("""{"before":"the outage"}"""), ct);
        Assert.Equal(0, await pipeline.StoredCountAsync(ct)); // else the worker joined before the outage: the test proves nothing

        for (var broker = 1; broker <= pipeline.Cluster.BrokerCount; broker++)
        {
            pipeline.Cluster.SetBrokerDown(broker);
        }

        // Longer than the group's session timeout (6 s) and the worker's socket timeout (10 s): whatever the worker had
        // in flight when the brokers went down has timed out before they come back.
        await Task.Delay(TimeSpan.FromSeconds(12), ct); // the outage's length, not a synchronisation
        for (var broker = 1; broker <= pipeline.Cluster.BrokerCount; broker++)
        {
            pipeline.Cluster.SetBrokerUp(broker);
        }

        await pipeline.WaitForStoredAsync(1, TimeSpan.FromSeconds(60), "nothing stored 60 s after the brokers came back", ct);
        await Payloads.PostAcceptedAsync(client, "joining", 1, Encoding.UTF8.GetBytes("""{"after":"the outage"}"""), ct);
        await pipeline.WaitForStoredAsync(2, TimeSpan.FromSeconds(60), "the payload posted after the outage was not stored in 60 s", ct);
        Assert.Equal([0L, 1L], await Payloads.ListSeqsAsync(client, "joining", limit: 10, ct));
    }
}
