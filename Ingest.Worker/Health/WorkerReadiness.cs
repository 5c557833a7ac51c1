using Confluent.Kafka;
using Ingest.Worker.Consuming;
using Ingest.Worker.Startup;

namespace Ingest.Worker.Health;

/// <summary>
/// The body of the worker's <c>GET /readyz</c>. Ready means: the start-up checks passed (topic durability, schema) and the
/// consumer has completed a join of its group and is still a member. A member may legitimately hold no partitions (a
/// group with more members than the topic has partitions), so the assignment is reported, not required:
/// <see cref="Partitions"/> says how many it holds right now. Except with <c>group.protocol=consumer</c> (KIP-848): there
/// librdkafka never reports an empty assignment, so such a member answers 503 until it gets partitions.
/// </summary>
/// <param name="Status"><c>ready</c> or <c>not ready</c>.</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="Partitions">How many partitions the worker holds right now.</param>
/// <param name="Assignment">Those partitions, as <c>topic[partition]</c>.</param>
public sealed record WorkerReadiness(string Status, string Reason, int Partitions, IReadOnlyList<string> Assignment)
{
    public bool Ready => Status == "ready";

    internal static WorkerReadiness Of(WorkerStartup startup, PayloadConsumer consumer)
    {
        var assignment = consumer.Assignment;
        var partitions = assignment.Select(Name).ToList();
        var ready = startup.Ready;
        var (isReady, reason) = ready switch
        {
            { IsCompletedSuccessfully: false, IsCompleted: false } => (false, "start-up checks (topic durability, schema) still running"),
            { IsCompletedSuccessfully: false } => (false, "start-up checks failed; the worker is stopping"),
            { Result: false } => (false, "the payload topic was refused; the worker is stopping"),
            _ when !consumer.IsGroupMember && consumer.UsesConsumerGroupProtocol => (false,
                "holding no partitions: joining, or a member without any (with group.protocol=consumer librdkafka reports no empty assignment, so the two look alike)"),
            _ when !consumer.IsGroupMember => (false, "not a member of the consumer group yet (joining or rebalancing)"),
            _ when partitions.Count == 0 => (true, "member of the consumer group, holding no partitions (more members than partitions)"),
            _ => (true, $"member of the consumer group, holding {partitions.Count} partition(s)"),
        };
        return new WorkerReadiness(isReady ? "ready" : "not ready", reason, partitions.Count, partitions);
    }

    private static string Name(TopicPartition partition) => $"{partition.Topic}[{partition.Partition.Value}]";
}
