using System.Runtime.InteropServices;
using System.Text;

namespace Ingest.DevBroker;

/// <summary>
/// librdkafka's in-process mock Kafka cluster (rdkafka_mock.h): real protocol over TCP on loopback,
/// with fault injection. Not durable and not a full broker: it keeps ~5 MiB / 100k messages per
/// partition, has no CreateTopics/DescribeConfigs/OffsetsForTimes, and suppresses duplicate batches
/// only for transactional producers.
/// </summary>
public sealed unsafe class MockCluster : IDisposable
{
    private const int ProducerType = 0;

    private static readonly delegate* unmanaged<nint> ConfNew =
        (delegate* unmanaged<nint>)LibrdkafkaNative.Export("rd_kafka_conf_new");
    private static readonly delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int> ConfSet =
        (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)LibrdkafkaNative.Export("rd_kafka_conf_set");
    private static readonly delegate* unmanaged<int, nint, byte*, nuint, nint> KafkaNew =
        (delegate* unmanaged<int, nint, byte*, nuint, nint>)LibrdkafkaNative.Export("rd_kafka_new");
    private static readonly delegate* unmanaged<nint, void> KafkaDestroy =
        (delegate* unmanaged<nint, void>)LibrdkafkaNative.Export("rd_kafka_destroy");
    private static readonly delegate* unmanaged<nint, int, nint> ClusterNew =
        (delegate* unmanaged<nint, int, nint>)LibrdkafkaNative.Export("rd_kafka_mock_cluster_new");
    private static readonly delegate* unmanaged<nint, void> ClusterDestroy =
        (delegate* unmanaged<nint, void>)LibrdkafkaNative.Export("rd_kafka_mock_cluster_destroy");
    private static readonly delegate* unmanaged<nint, nint> ClusterBootstraps =
        (delegate* unmanaged<nint, nint>)LibrdkafkaNative.Export("rd_kafka_mock_cluster_bootstraps");
    private static readonly delegate* unmanaged<nint, byte*, int, int, int> TopicCreate =
        (delegate* unmanaged<nint, byte*, int, int, int>)LibrdkafkaNative.Export("rd_kafka_mock_topic_create");
    private static readonly delegate* unmanaged<nint, int, int> BrokerSetDown =
        (delegate* unmanaged<nint, int, int>)LibrdkafkaNative.Export("rd_kafka_mock_broker_set_down");
    private static readonly delegate* unmanaged<nint, int, int> BrokerSetUp =
        (delegate* unmanaged<nint, int, int>)LibrdkafkaNative.Export("rd_kafka_mock_broker_set_up");
    private static readonly delegate* unmanaged<nint, int, int, int> BrokerSetRtt =
        (delegate* unmanaged<nint, int, int, int>)LibrdkafkaNative.Export("rd_kafka_mock_broker_set_rtt");
    private static readonly delegate* unmanaged<nint, byte*, int, int, int> PartitionSetLeader =
        (delegate* unmanaged<nint, byte*, int, int, int>)LibrdkafkaNative.Export("rd_kafka_mock_partition_set_leader");
    private static readonly delegate* unmanaged<nint, short, nuint, int*, void> NativePushRequestErrors =
        (delegate* unmanaged<nint, short, nuint, int*, void>)LibrdkafkaNative.Export("rd_kafka_mock_push_request_errors_array");
    private static readonly delegate* unmanaged<nint, short, void> NativeClearRequestErrors =
        (delegate* unmanaged<nint, short, void>)LibrdkafkaNative.Export("rd_kafka_mock_clear_request_errors");

    private static readonly delegate* unmanaged<nint, int, void> NativeSetConsumerHeartbeatInterval =
        (delegate* unmanaged<nint, int, void>)LibrdkafkaNative.Export("rd_kafka_mock_set_group_consumer_heartbeat_interval_ms");
    private static readonly delegate* unmanaged<nint, int, void> NativeSetConsumerSessionTimeout =
        (delegate* unmanaged<nint, int, void>)LibrdkafkaNative.Export("rd_kafka_mock_set_group_consumer_session_timeout_ms");

    private readonly nint _handle;
    private readonly nint _cluster;
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Starts a mock cluster of <paramref name="brokers"/> brokers (ids 1 … n) on loopback.</summary>
    public MockCluster(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(brokers);
        BrokerCount = brokers;
        var conf = ConfNew();
        var error = stackalloc byte[512];
        // The handle only owns the cluster; keep its own logging quiet.
        Set(conf, "log_level", "3", error);
        _handle = KafkaNew(ProducerType, conf, error, 512);
        if (_handle == 0)
        {
            throw new InvalidOperationException($"rd_kafka_new failed: {Marshal.PtrToStringUTF8((nint)error)}");
        }

        _cluster = ClusterNew(_handle, brokers);
        if (_cluster == 0)
        {
            KafkaDestroy(_handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(ClusterBootstraps(_cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
    }

    /// <summary>Comma-separated host:port list of the mock brokers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1 … BrokerCount.</summary>
    public int BrokerCount { get; }

    /// <summary>Creates a topic (the mock has no CreateTopics API).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor)
    {
        var err = WithUtf8(topic, t => TopicCreate(_cluster, (byte*)t, partitions, replicationFactor));
        Check(err, $"create topic {topic}");
    }

    /// <summary>Takes a broker down: its connections are closed and new ones refused.</summary>
    public void SetBrokerDown(int brokerId) => Check(Call(() => BrokerSetDown(_cluster, brokerId)), $"set broker {brokerId} down");

    /// <summary>Brings a broker back up.</summary>
    public void SetBrokerUp(int brokerId) => Check(Call(() => BrokerSetUp(_cluster, brokerId)), $"set broker {brokerId} up");

    /// <summary>Delays every response of a broker by <paramref name="rttMs"/> milliseconds.</summary>
    public void SetBrokerRtt(int brokerId, int rttMs) =>
        Check(Call(() => BrokerSetRtt(_cluster, brokerId, rttMs)), $"set broker {brokerId} rtt");

    /// <summary>Moves a partition's leadership to <paramref name="brokerId"/>.</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(WithUtf8(topic, t => PartitionSetLeader(_cluster, (byte*)t, partition, brokerId)), $"move leader of {topic}/{partition}");

    /// <summary>The next requests of <paramref name="apiKey"/> fail with these error codes, in order.</summary>
    public void PushRequestErrors(KafkaApiKey apiKey, params Confluent.Kafka.ErrorCode[] errors)
    {
        var codes = errors.Select(e => (int)e).ToArray();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            fixed (int* p = codes)
            {
                NativePushRequestErrors(_cluster, (short)apiKey, (nuint)codes.Length, p);
            }
        }
    }

    /// <summary>
    /// KIP-848 groups (<c>group.protocol=consumer</c>): the heartbeat interval the broker tells members to use
    /// (a real broker's <c>group.consumer.heartbeat.interval.ms</c>); members learn of assignment changes at
    /// their next heartbeat.
    /// </summary>
    public void SetGroupConsumerHeartbeatInterval(int milliseconds)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            NativeSetConsumerHeartbeatInterval(_cluster, milliseconds);
        }
    }

    /// <summary>KIP-848 groups: the broker-side session timeout (a real broker's <c>group.consumer.session.timeout.ms</c>).</summary>
    public void SetGroupConsumerSessionTimeout(int milliseconds)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            NativeSetConsumerSessionTimeout(_cluster, milliseconds);
        }
    }

    /// <summary>Drops errors still queued for <paramref name="apiKey"/>.</summary>
    public void ClearRequestErrors(KafkaApiKey apiKey)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            NativeClearRequestErrors(_cluster, (short)apiKey);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            ClusterDestroy(_cluster);
            KafkaDestroy(_handle);
        }
    }

    private int Call(Func<int> action)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return action();
        }
    }

    private int WithUtf8(string text, Func<nint, int> action)
    {
        var bytes = Encoding.UTF8.GetBytes(text + "\0");
        fixed (byte* p = bytes)
        {
            var pointer = (nint)p;
            return Call(() => action(pointer));
        }
    }

    private static void Set(nint conf, string name, string value, byte* error)
    {
        var n = Encoding.UTF8.GetBytes(name + "\0");
        var v = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* pn = n, pv = v)
        {
            if (ConfSet(conf, pn, pv, error, 512) != 0)
            {
                throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {Marshal.PtrToStringUTF8((nint)error)}");
            }
        }
    }

    private static void Check(int err, string what)
    {
        if (err != 0)
        {
            throw new InvalidOperationException($"Mock cluster could not {what}: {(Confluent.Kafka.ErrorCode)err}.");
        }
    }
}
