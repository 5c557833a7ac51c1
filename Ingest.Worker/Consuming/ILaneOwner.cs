using Confluent.Kafka;

namespace Ingest.Worker.Consuming;

/// <summary>
/// What a <see cref="PartitionLane"/> asks of the consumer that owns it: to stop and restart fetching its
/// partition (on the poll thread, where the lane's pause state changes), and to stop the worker when the lane
/// fails (from the lane's own task).
/// </summary>
internal interface ILaneOwner
{
    /// <summary>Stops fetching <paramref name="partition"/> (poll thread only).</summary>
    void Pause(TopicPartition partition);

    /// <summary>Fetches <paramref name="partition"/> again (poll thread only).</summary>
    /// <exception cref="KafkaException">The consumer refused (e.g. the partition is no longer assigned).</exception>
    void Resume(TopicPartition partition);

    /// <summary>The lane of <paramref name="partition"/> failed (a bug): its partition would stall silently.</summary>
    void LaneFaulted(TopicPartition partition, Exception exception);
}

/// <summary>The <see cref="ILaneOwner"/> of the lanes one Kafka consumer's assignment started.</summary>
internal sealed class ConsumerLaneOwner(IConsumer<byte[]?, byte[]?> consumer, Action<TopicPartition, Exception> onFault) : ILaneOwner
{
    public void Pause(TopicPartition partition) => consumer.Pause([partition]);

    public void Resume(TopicPartition partition) => consumer.Resume([partition]);

    public void LaneFaulted(TopicPartition partition, Exception exception) => onFault(partition, exception);
}
