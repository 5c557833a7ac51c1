using Confluent.Kafka;
using Ingest.DevBroker;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// Broker faults by librdkafka's mock cluster's fault injection, on a mock cluster of the cell's own whatever the suite's
/// broker: request errors, round-trip times and leaders moved on command are what a test cannot make a real broker do.
/// </summary>
public static partial class Cells
{
    /// <summary>The broker leading partition 0 goes down for 5 s (the mock does not elect another leader: its partitions stall).</summary>
    public static Fault OneBrokerDown { get; } = new("broker-one-down", new(BrokerNeed.OwnMock), async (f, ct) =>
    {
        var leader = LeaderOf(f.Stack, 0);
        Mock(f).SetBrokerDown(leader);
        await HoldAsync(Hold, ct);
        Mock(f).SetBrokerUp(leader);
    });

    public static Fault AllBrokersDown { get; } = new("broker-all-down", new(BrokerNeed.OwnMock), async (f, ct) =>
    {
        var mock = Mock(f);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerDown(b);
        }

        await HoldAsync(Hold, ct);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerUp(b);
        }
    });

    /// <summary>Every partition's leader moves to the next broker, every second, six times.</summary>
    public static Fault LeaderMoved { get; } = new("broker-leader-moved", new(BrokerNeed.OwnMock), async (f, ct) =>
    {
        var mock = Mock(f);
        for (var round = 1; round <= 6; round++)
        {
            for (var p = 0; p < FaultStack.Partitions; p++)
            {
                mock.SetPartitionLeader(f.Stack.Topic, p, ((p + round) % mock.BrokerCount) + 1);
            }

            await HoldAsync(TimeSpan.FromSeconds(1), ct);
        }
    });

    /// <summary>
    /// Bursts of retriable Produce errors; the idempotent producer retries them. The API runs with one request in
    /// flight per connection here: the mock checks no sequence numbers for a non-transactional producer, so with an
    /// injected error on request R1 it still appends R2, and librdkafka, seeing R2 acknowledged, acknowledges R1's
    /// messages implicitly (rdkafka_request.c, rd_kafka_handle_idempotent_Produce_success) — right on a real broker,
    /// which refuses R2 (OUT_OF_ORDER_SEQUENCE_NUMBER) until R1 is in, but on the mock a 202 for a payload it never
    /// stored. This cell found exactly that at five in flight (one payload in ~800, "in Kafka: nowhere").
    /// </summary>
    public static Fault ProduceErrors { get; } = new("broker-produce-errors", new(BrokerNeed.OwnMock, ApiArgs: ["--Kafka:max.in.flight.requests.per.connection=1"]), async (f, ct) =>
    {
        ErrorCode[] burst =
        [
            .. Enumerable.Repeat(ErrorCode.NotLeaderForPartition, 4),
            .. Enumerable.Repeat(ErrorCode.RequestTimedOut, 4),
            .. Enumerable.Repeat(ErrorCode.NotEnoughReplicas, 4),
        ];
        for (var round = 0; round < 5; round++)
        {
            Mock(f).PushRequestErrors(KafkaApiKey.Produce, burst);
            await HoldAsync(TimeSpan.FromSeconds(1), ct);
        }

        Mock(f).ClearRequestErrors(KafkaApiKey.Produce);
    });

    /// <summary>Every broker answers 1.5 s late for 5 s.</summary>
    public static Fault RttSpike { get; } = new("broker-rtt-spike", new(BrokerNeed.OwnMock), async (f, ct) =>
    {
        var mock = Mock(f);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerRtt(b, 1500);
        }

        await HoldAsync(Hold, ct);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerRtt(b, 0);
        }
    });

    /// <summary>Bursts of retriable Fetch errors: the worker refetches, and whatever it reads twice must be absorbed.</summary>
    public static Fault FetchErrors { get; } = new("broker-fetch-errors", new(BrokerNeed.OwnMock), async (f, ct) =>
    {
        ErrorCode[] burst =
        [
            .. Enumerable.Repeat(ErrorCode.NotLeaderForPartition, 5),
            .. Enumerable.Repeat(ErrorCode.UnknownTopicOrPart, 5),
            .. Enumerable.Repeat(ErrorCode.KafkaStorageError, 5),
        ];
        for (var round = 0; round < 5; round++)
        {
            Mock(f).PushRequestErrors(KafkaApiKey.Fetch, burst);
            await HoldAsync(TimeSpan.FromSeconds(1), ct);
        }

        Mock(f).ClearRequestErrors(KafkaApiKey.Fetch);
    });
}
