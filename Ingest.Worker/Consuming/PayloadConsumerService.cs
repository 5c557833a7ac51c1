using Ingest.Worker.Startup;

namespace Ingest.Worker.Consuming;

/// <summary>Once the start-up checks passed, runs the consume loop on its own long-running thread.</summary>
internal sealed class PayloadConsumerService(PayloadConsumer consumer, WorkerStartup startup) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Built while the checks run (a librdkafka handle, its connections, the group coordinator's address): the
        // subscription, which joins the group, waits for them.
        var built = await Task.Run(consumer.Build, stoppingToken);
        bool ready;
        try
        {
            ready = await startup.Ready.WaitAsync(stoppingToken);
        }
        catch
        {
            built.Dispose();
            throw;
        }

        if (!ready)
        {
            built.Dispose();
            return; // the topic was refused: the worker is stopping
        }

        // Consume blocks; a dedicated thread keeps it off the thread pool the lanes and Kestrel use.
        await Task.Factory.StartNew(
            () => consumer.Run(built, stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
