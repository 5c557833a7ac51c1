using Confluent.Kafka;
using Ingest.Worker.Consuming;

namespace Ingest.Worker.Tests.Consuming;

/// <summary>A test double of the <see cref="ILaneOwner"/> seam: records the pauses and resumes a lane asks for.</summary>
internal sealed class RecordingLaneOwner : ILaneOwner
{
    private readonly Lock _gate = new();
    private readonly List<string> _calls = [];

    /// <summary>When set, <see cref="Resume"/> throws it (a consumer that no longer owns the partition).</summary>
    public KafkaException? ResumeFails { get; set; }

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    public void Pause(TopicPartition partition) => Add($"pause {partition.Partition.Value}");

    public void Resume(TopicPartition partition)
    {
        if (ResumeFails is { } error)
        {
            throw error;
        }

        Add($"resume {partition.Partition.Value}");
    }

    public void LaneFaulted(TopicPartition partition, Exception exception) => Add($"fault {partition.Partition.Value}: {exception.Message}");

    private void Add(string call)
    {
        lock (_gate)
        {
            _calls.Add(call);
        }
    }
}
