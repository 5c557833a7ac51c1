using System.Text;
using Confluent.Kafka;

namespace Ingest.Contracts.Identity;

/// <summary>
/// The Kafka key of a session and the partitioner every producer must use with it.
/// </summary>
/// <remarks>
/// The key is the UTF-8 text <c>{projectId}/{sessionId}</c>; neither id may contain <c>/</c>, so the
/// key is unambiguous and two projects with the same session id land on independent keys.
/// Partitioning is librdkafka's <c>murmur2_random</c>: murmur2 of the key bytes, sign bit cleared,
/// modulo the partition count — the same as the Java client's default partitioner for keyed records,
/// so a producer in any language agrees with Ingest as long as it uses that function.
/// The partition count of a live topic must never change: it would move sessions to other partitions
/// and break their order.
/// </remarks>
public static class SessionKey
{
    /// <summary>The partitioner to set on every <see cref="ProducerConfig"/> that writes payloads.</summary>
    public const Partitioner Partitioner = Confluent.Kafka.Partitioner.Murmur2Random;

    /// <summary>Key bytes for a session. Both ids must already be valid.</summary>
    public static byte[] For(string projectId, string sessionId)
    {
        if (!Ids.IsValidProjectId(projectId))
        {
            throw new ArgumentException($"Invalid project id '{projectId}'.", nameof(projectId));
        }

        if (!Ids.IsValidSessionId(sessionId))
        {
            throw new ArgumentException($"Invalid session id '{sessionId}'.", nameof(sessionId));
        }

        return Encoding.UTF8.GetBytes($"{projectId}/{sessionId}");
    }

    /// <summary>The partition a key lands on with <see cref="Partitioner"/>.</summary>
    public static int PartitionFor(ReadOnlySpan<byte> key, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        return (Murmur2(key) & 0x7fffffff) % partitionCount;
    }

    /// <summary>Kafka's murmur2 (seed 0x9747b28c), as <c>org.apache.kafka.common.utils.Utils.murmur2</c>.</summary>
    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        const uint M = 0x5bd1e995;
        const int R = 24;
        var length = data.Length;
        var h = 0x9747b28c ^ (uint)length;
        var i = 0;
        for (; i + 4 <= length; i += 4)
        {
            var k = (uint)(data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        switch (length - i)
        {
            case 3:
                h ^= (uint)data[i + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[i + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[i];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return unchecked((int)h);
    }
}
