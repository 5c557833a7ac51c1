using Ingest.Worker.Startup;

namespace Ingest.Worker.Consuming;

/// <summary>Once the start-up checks passed, runs the consume loop on its own long-running thread.</summary>
internal sealed class PayloadConsumerService(PayloadConsumer consumer, WorkerStartup startup) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await startup.Ready.WaitAsync(stoppingToken))
        {
            return; // the topic was refused: the worker is stopping
        }

        // Consume blocks; a dedicated thread keeps it off the thread pool the lanes and Kestrel use.
        await Task.Factory.StartNew(
            () => consumer.Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
