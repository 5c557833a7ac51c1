using System.Globalization;
using System.Runtime.InteropServices;
using Ingest.Contracts;
using Ingest.DevBroker;

namespace Ingest.DevStack;

/// <summary>
/// Hosts librdkafka's mock cluster for <c>docker/up.sh</c> when there is no Docker engine:
/// creates the payload and dead-letter topics, writes the bootstrap servers to a file, and
/// runs until SIGINT/SIGTERM. Everything it holds is lost when it stops.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (!EmbeddedBrokerOptions.TryParse(args, out var options, out var error))
        {
            await Console.Error.WriteLineAsync($"ingest-devstack: {error}");
            return 2;
        }

        using var cluster = new MockCluster(options.Brokers);
        var replication = Math.Min(3, options.Brokers);
        cluster.CreateTopic(options.Topic, options.Partitions, replication);
        cluster.CreateTopic(IngestTopics.DeadLetterFor(options.Topic), options.Partitions, replication);

        Console.WriteLine("================================================================================");
        Console.WriteLine(" EMBEDDED BROKER: librdkafka mock cluster — NON-DURABLE, FOR DEVELOPMENT ONLY.");
        Console.WriteLine(" It keeps ~5 MiB per partition and loses everything when it stops.");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $" brokers={options.Brokers} topic={options.Topic} partitions={options.Partitions} bootstrap={cluster.BootstrapServers}"));
        Console.WriteLine("================================================================================");

        if (options.BootstrapFile is { } file)
        {
            var temporary = file + ".tmp";
            await File.WriteAllTextAsync(temporary, cluster.BootstrapServers);
            File.Move(temporary, file, overwrite: true);
        }

        var stopped = new TaskCompletionSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        await stopped.Task;
        Console.WriteLine("Embedded broker stopped.");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopped.TrySetResult();
        }
    }
}
