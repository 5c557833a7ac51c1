using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>
/// Offset commits the group coordinator refuses, on a mock cluster of the test's own (the only broker that can refuse
/// them on demand): the worker goes on storing, says so in a warning and a metric, and a later commit covers what the
/// refused ones held.
/// </summary>
[Collection(OutageCollection.Name)]
public sealed class CommitFailureTests
{
    [Fact]
    public async Task Refused_commits_are_counted_and_the_next_commit_covers_them()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stack = await IsolatedStack.CreateAsync(partitions: 1, ct);
        var worker = await stack.StartWorkerAsync(ct);
        await stack.ProduceAsync("c", 0, [0], ct);
        await stack.Database.WaitForCountAsync(1, ct);
        await Eventually.UntilAsync(() => stack.CommittedOffsets()[0], o => o == 1, TimeSpan.FromSeconds(30), o => $"committed {o}", ct);

        // The next three commits are refused; the worker stores on and the fourth commits all of it.
        stack.Mock!.PushRequestErrors(
            KafkaApiKey.OffsetCommit, ErrorCode.OffsetMetadataTooLarge, ErrorCode.OffsetMetadataTooLarge, ErrorCode.OffsetMetadataTooLarge);
        for (var seq = 1; seq <= 5; seq++)
        {
            await stack.ProduceAsync("c", seq, [(byte)seq], ct);
        }

        await stack.Database.WaitForCountAsync(6, ct);
        await Eventually.UntilAsync(
            () => stack.CommittedOffsets()[0], o => o == 6, TimeSpan.FromSeconds(30), o => $"committed {o}\n{stack.WorkerOutput}", ct);

        using var http = new HttpClient { BaseAddress = worker.Address };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct);
        var failed = metrics.Split('\n').Single(l =>
            l.StartsWith("ingest_worker_commit_duration_seconds_count", StringComparison.Ordinal) && l.Contains("outcome=\"failed\"", StringComparison.Ordinal));
        Assert.EndsWith(" 3", failed, StringComparison.Ordinal);
        Assert.Contains("Offset commit failed", worker.Output, StringComparison.Ordinal);
        await stack.AssertStoredInOrderAsync(new Dictionary<string, int> { ["c"] = 6 }, ct);
    }
}
