using Ingest.Worker.Startup;
using Ingest.Worker.Storage;
using Npgsql;

namespace Ingest.Worker.Consuming;

/// <summary>Applies the schema, then runs the consume loop on its own long-running thread.</summary>
internal sealed class PayloadConsumerService(
    PayloadConsumer consumer, NpgsqlDataSource dataSource, StartupTimeline timeline, TimeProvider timeProvider, ILogger<PayloadConsumerService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await SchemaStartup.ApplyWithRetryAsync(dataSource, logger, timeProvider, stoppingToken);
        timeline.Mark(StartupPhase.SchemaReady);

        // Consume blocks; a dedicated thread keeps it off the thread pool the lanes and Kestrel use.
        await Task.Factory.StartNew(
            () => consumer.Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
