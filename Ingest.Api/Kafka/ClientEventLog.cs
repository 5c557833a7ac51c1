using System.Threading.Channels;

namespace Ingest.Api.Kafka;

/// <summary>
/// librdkafka's log and error callbacks run on its poll thread, which also serves delivery reports; they
/// only enqueue here (bounded, oldest dropped) and this service writes the log, so a slow log sink never
/// delays a 202 (Aspire's Confluent.Kafka component does the same).
/// </summary>
public sealed class ClientEventLog(ILogger<PayloadProducer> logger) : BackgroundService
{
    private readonly Channel<Action<ILogger>> _events = Channel.CreateBounded<Action<ILogger>>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    /// <summary>Queues a log write; never blocks.</summary>
    public void Post(Action<ILogger> write) => _events.Writer.TryWrite(write);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var write in _events.Reader.ReadAllAsync(stoppingToken))
            {
                write(logger);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a host stopped before this loop was first scheduled would otherwise log the
            // cancellation as a failed BackgroundService and stop the host with an error.
        }
    }
}
