using System.Globalization;

namespace Ingest.Benchmarks;

/// <summary>
/// The broker's CPU so far, where it can be read: the embedded broker is a thread of the harness's own process
/// (librdkafka's <c>rdk:mock</c>); a real broker is measurable when it is a local process (found by its listening client
/// port: only the bootstrap node of a cluster); a remote one is not.
/// </summary>
public sealed class BrokerProbe(string description, Func<TimeSpan?> read, bool inThisProcess = false)
{
    public string Description => description;

    /// <summary>The embedded broker: its CPU is part of this process's.</summary>
    public bool InThisProcess => inThisProcess;

    /// <summary>CPU so far, or null when not measurable (or the process is gone).</summary>
    public TimeSpan? Read() => read();

    public static BrokerProbe For(Stack stack)
    {
        if (stack.Kafka.IsMock)
        {
            return new BrokerProbe("embedded broker: librdkafka's rdk:mock thread, inside the harness's own process", () => ProcessCpu.ThreadsOfSelf("rdk:mock"), inThisProcess: true);
        }

        var first = stack.Kafka.BootstrapServers.Split(',')[0];
        if (int.TryParse(first[(first.LastIndexOf(':') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && ProcessCpu.Listening(port) is { } pid)
        {
            var nodes = stack.Kafka.BootstrapServers.Contains(',', StringComparison.Ordinal) ? "; the cluster's other nodes are not counted" : "";
            return new BrokerProbe(
                string.Create(CultureInfo.InvariantCulture, $"broker process {pid} listening on {first} ({Program(pid)}){nodes}"),
                () => ProcessCpu.OfProcess(pid));
        }

        return new BrokerProbe($"not measurable: no local process listens on {first}", () => null);
    }

    private static string Program(int pid) => ProcessCpu.CommandLine(pid)?.Split(' ')[0] is { Length: > 0 } program ? Path.GetFileName(program) : "?";
}
