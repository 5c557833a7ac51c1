using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Support;

/// <summary>
/// The session timeout and heartbeat interval a worker group gets on a stack's broker, under one protocol: failover
/// bounds are derived from them, so one test holds on the mock (6 s / 0.5 s for both protocols) and on a real Kafka
/// with its defaults (KIP-848: 45 s / 5 s, owned by the broker).
/// </summary>
public sealed record GroupTiming(string Protocol, BrokerKind Broker, TimeSpan Session, TimeSpan Heartbeat)
{
    /// <summary>What a failover may take beyond the group's own timing: process start, JoinGroup/SyncGroup, a busy machine.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

    /// <summary>Set on every stack's own mock cluster, as a broker with these <c>group.consumer.*</c> settings would apply.</summary>
    public static readonly TimeSpan MockConsumerSession = TimeSpan.FromSeconds(6);

    /// <inheritdoc cref="MockConsumerSession"/>
    public static readonly TimeSpan MockConsumerHeartbeat = TimeSpan.FromMilliseconds(500);

    public bool IsClassic => Protocol == "classic";

    public bool IsMock => Broker == BrokerKind.Mock;

    /// <summary>
    /// How long the group coordinator waits after a join or leave before it assigns: the mock's classic group waits
    /// session − 1 s (rdkafka_mock_cgrp.c) even when every member has rejoined; a real broker assigns once they have,
    /// and a KIP-848 coordinator (mock or real) reconciles member by member without waiting.
    /// </summary>
    public TimeSpan RebalanceWait => IsClassic && IsMock ? Session - TimeSpan.FromSeconds(1) : TimeSpan.Zero;

    /// <summary>A generous bound on a pause that ends with the next heartbeat (a graceful leave).</summary>
    public TimeSpan HeartbeatBound => Heartbeat + RebalanceWait + Slack;

    /// <summary>A generous bound on a pause that ends when a session expires (a crash, a static member's leave).</summary>
    public TimeSpan SessionBound => Session + Heartbeat + RebalanceWait + Slack;

    /// <summary>The timing of <paramref name="protocol"/> (<c>classic</c> or <c>consumer</c>) on <paramref name="stack"/>'s broker.</summary>
    public static async Task<GroupTiming> ReadAsync(IsolatedStack stack, string protocol)
    {
        if (protocol == "classic")
        {
            // The worker's own defaults (KafkaOptions): under the classic protocol the client sets both.
            return new(protocol, stack.Kind, TimeSpan.FromSeconds(6), TimeSpan.FromMilliseconds(500));
        }

        if (stack.IsMock)
        {
            return new(protocol, stack.Kind, MockConsumerSession, MockConsumerHeartbeat);
        }

        // KIP-848: the broker's group.consumer.* settings (a group of the tests' own has no per-group override).
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        var broker = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers[0].BrokerId.ToString(CultureInfo.InvariantCulture);
        var described = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Broker, Name = broker }]);
        TimeSpan Milliseconds(string name) =>
            TimeSpan.FromMilliseconds(long.Parse(described[0].Entries[name].Value, CultureInfo.InvariantCulture));
        return new(protocol, stack.Kind, Milliseconds("group.consumer.session.timeout.ms"), Milliseconds("group.consumer.heartbeat.interval.ms"));
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Protocol} on {Broker}: session {Session.TotalSeconds:0.#} s, heartbeat {Heartbeat.TotalSeconds:0.#} s");
}
