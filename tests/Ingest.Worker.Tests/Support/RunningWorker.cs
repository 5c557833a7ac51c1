global using RunningWorker = Ingest.Testing.Hosting.RunningApp;
using Confluent.Kafka;
using Ingest.Testing.Hosting;
using Ingest.Worker.Consuming;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Worker.Tests.Support;

/// <summary>What a worker started in-process (<see cref="RunningApp"/>) shows of its consumer.</summary>
public static class RunningWorkerExtensions
{
    extension(RunningApp worker)
    {
        /// <summary>Partitions the worker's consumer owns right now.</summary>
        public IReadOnlyList<TopicPartition> Assignment => worker.App.Services.GetRequiredService<PayloadConsumer>().Assignment;
    }

    /// <summary>Starts a worker as its Program builds it, on a real Kestrel port.</summary>
    public static Task<RunningApp> StartWorkerAsync(IEnumerable<string> args, CancellationToken cancellationToken) =>
        RunningApp.StartAsync(Program.Build, args, cancellationToken);
}
