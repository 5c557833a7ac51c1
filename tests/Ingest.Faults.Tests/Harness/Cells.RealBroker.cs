using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ingest.Testing;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// Broker faults on the shared real three-node cluster (RF 3, <c>min.insync.replicas=2</c>): what the mock cannot show
/// — a dead node noticed only after <c>broker.session.timeout.ms</c> (9 s), fencing and elections by the KRaft
/// controller, acks=all unmet while fewer than two replicas are in sync, a node that stops answering without closing
/// its sockets. Each holds its fault about 10 s; a fault is over once its nodes are relaunched (a JVM start takes
/// 10–30 s here), and the next cell starts only when the cluster is whole again (<see cref="RealCluster.GetHealthyAsync"/>).
/// </summary>
public static partial class Cells
{
    private static readonly TimeSpan RealHold = TimeSpan.FromSeconds(10);
    private static readonly StackNeeds OnRealCluster = new(BrokerNeed.RealCluster);

    /// <summary>The broker cells of the real cluster, in the order the matrix and the soak run them.</summary>
    public static IReadOnlyList<Fault> RealBroker => [RealLeaderKill, RealNodeStop, RealTwoDown, RealAllDown, RealNodePause, RealPreferredElection];

    /// <summary>SIGKILL of the node leading most of the topic's partitions; started again after 10 s.</summary>
    public static Fault RealLeaderKill { get; } = new("real-leader-sigkill", OnRealCluster, async (f, ct) =>
    {
        var node = BusiestLeaders(f.Stack)[0];
        await Nodes(f).KillAsync(node, ct);
        await HoldAsync(RealHold, ct);
        Nodes(f).BeginUp(node);
    });

    /// <summary>
    /// The node leading most partitions stopped gracefully (SIGTERM: a controlled shutdown, the controller moves its
    /// leaderships to in-sync followers before it exits), down 10 s, then started again.
    /// </summary>
    public static Fault RealNodeStop { get; } = new("real-node-stop", OnRealCluster, async (f, ct) =>
    {
        var node = BusiestLeaders(f.Stack)[0];
        await Nodes(f).StopAsync(node, TimeSpan.FromSeconds(60), ct);
        await HoldAsync(RealHold, ct);
        Nodes(f).BeginUp(node);
    });

    /// <summary>
    /// Two of the three nodes SIGKILLed for 10 s: one replica left, below <c>min.insync.replicas=2</c>, and no controller
    /// quorum. acks=all cannot be met, so the API holds requests and answers 503 after <c>Api:DeliveryTimeout</c>; both
    /// nodes then start again together.
    /// </summary>
    public static Fault RealTwoDown { get; } = new("real-two-nodes-down", OnRealCluster, async (f, ct) =>
    {
        var nodes = BusiestLeaders(f.Stack)[..2].ToList();
        await Task.WhenAll(nodes.Select(n => Nodes(f).KillAsync(n, ct)));
        await HoldAsync(RealHold, ct);
        nodes.ForEach(Nodes(f).BeginUp); // together: a lone node waits for a quorum
    });

    /// <summary>Every node SIGKILLed (a power cut), 10 s, then all three started together.</summary>
    public static Fault RealAllDown { get; } = new("real-all-nodes-down", OnRealCluster, async (f, ct) =>
    {
        var nodes = Enumerable.Range(1, Nodes(f).Brokers).ToList();
        await Task.WhenAll(nodes.Select(n => Nodes(f).KillAsync(n, ct)));
        await HoldAsync(RealHold, ct);
        nodes.ForEach(Nodes(f).BeginUp);
    });

    /// <summary>
    /// The node leading most partitions paused (SIGSTOP) for 10 s, then resumed: a long GC pause or a network stall. Its
    /// sockets stay open and nothing is answered; past <c>broker.session.timeout.ms</c> the controller fences it.
    /// </summary>
    public static Fault RealNodePause { get; } = new("real-node-pause", OnRealCluster, async (f, ct) =>
    {
        var node = BusiestLeaders(f.Stack)[0];
        Nodes(f).Pause(node);
        try
        {
            await HoldAsync(RealHold, ct);
        }
        finally
        {
            Nodes(f).Resume(node);
        }
    });

    /// <summary>
    /// A preferred-leader election under load (what an operator runs after a restart, or the controller every
    /// <c>leader.imbalance.check.interval.seconds</c>): every partition led by a follower moves back to its preferred
    /// replica. Leadership is skewed first, before the load; the fault is the election, and 5 s of its aftermath.
    /// </summary>
    public static Fault RealPreferredElection { get; } = new("real-preferred-election", OnRealCluster, async (f, ct) =>
    {
        using var admin = RealCluster.Admin(f.Stack.BootstrapServers);
        try
        {
            // All partitions, as kafka-leader-election.sh --all-topic-partitions does.
            await admin.ElectLeadersAsync(ElectionType.Preferred, null, new ElectLeadersOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        }
        catch (ElectLeadersException ex) when (ex.Results.TopicPartitions.All(p => !p.Error.IsError || p.Error.Code == ErrorCode.ElectionNotNeeded))
        {
            // Partitions already led by their preferred replica answer "election not needed".
        }

        await Eventually.UntilAsync(
            () => RealCluster.Partitions(admin, f.Stack.Topic), ps => ps.Count > 0 && ps.All(p => p.Leader == p.Replicas[0]), TimeSpan.FromSeconds(30),
            ps => $"not every partition is led by its preferred replica after the election: {Leadership(ps)}", ct);
        await HoldAsync(TimeSpan.FromSeconds(5), ct);
    })
    {
        // Skewed by pausing the node that is preferred leader of most partitions until the controller has fenced it
        // and moved its leaderships (9 s), then resuming it: it rejoins as a follower everywhere, in seconds (a restart
        // would cost a JVM start).
        PrepareAsync = async (stack, ct) =>
        {
            var cluster = stack.Broker.Cluster!;
            using var admin = RealCluster.Admin(stack.BootstrapServers);
            var node = RealCluster.Partitions(admin, stack.Topic).GroupBy(p => p.Replicas[0]).MaxBy(g => g.Count())!.Key;
            cluster.Pause(node);
            try
            {
                await Eventually.UntilAsync(
                    () => RealCluster.Partitions(admin, stack.Topic), ps => ps.Count > 0 && ps.All(p => p.Leader != node), TimeSpan.FromSeconds(60),
                    ps => $"node {node} still leads after being paused: {Leadership(ps)}", ct);
            }
            finally
            {
                cluster.Resume(node);
            }

            await RealCluster.WaitFullyReplicatedAsync(cluster, ct);
            var partitions = RealCluster.Partitions(admin, stack.Topic);
            Assert.True(partitions.Any(p => p.Leader != p.Replicas[0]), $"no partition left on a follower after node {node} came back: {Leadership(partitions)}");
        },
    };

    private static LocalKafka Nodes(FaultContext f) =>
        f.Stack.Broker.Cluster ?? throw new InvalidOperationException("real broker faults need the stack on the real cluster");

    /// <summary>Nodes by how many of the topic's partitions each leads, most first (ties: lowest id).</summary>
    private static int[] BusiestLeaders(FaultStack stack)
    {
        using var admin = RealCluster.Admin(stack.BootstrapServers);
        var led = RealCluster.Partitions(admin, stack.Topic).GroupBy(p => p.Leader).ToDictionary(g => g.Key, g => g.Count());
        return [.. Enumerable.Range(1, stack.Broker.Cluster!.Brokers).OrderByDescending(n => led.GetValueOrDefault(n)).ThenBy(n => n)];
    }

    private static string Leadership(IEnumerable<PartitionMetadata> partitions) =>
        string.Join(", ", partitions.Select(p => $"{p.PartitionId}: leader {p.Leader}, replicas [{string.Join(',', p.Replicas)}]"));
}
