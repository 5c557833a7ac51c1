using Ingest.Storage.Schema;
using Ingest.Worker.Durability;
using Npgsql;

namespace Ingest.Worker.Startup;

/// <summary>
/// What must hold before the consumer subscribes: the payload topic's durability settings
/// (<see cref="TopicDurabilityCheck"/>) and the schema (migrations). Both begin when the host begins starting (before any
/// hosted service's <c>StartAsync</c>) and run side by side, while Kestrel and the rest of the host start; the consumer
/// subscribes once both are done. A restarted worker pays for the slower of the two instead of their sum, and /healthz
/// answers while it waits (for a database that is not up yet, say). The consumer never joins the group before both
/// passed: a worker that cannot store, or that is about to refuse its topic, must not take partitions from the others.
/// </summary>
public sealed class WorkerStartup(
    TopicDurabilityCheck check,
    NpgsqlDataSource dataSource,
    StartupTimeline timeline,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<WorkerStartup> logger) : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<bool> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;

    /// <summary>
    /// Completes with true once the topic is checked and the schema applied, false when the check refused the topic
    /// (the worker is stopping, see <see cref="Refusal"/>); faults when a migration fails for good.
    /// </summary>
    public Task<bool> Ready => _ready.Task;

    /// <summary>Why the worker refused to start, once <see cref="Ready"/> completed with false; the process exits 1.</summary>
    public TopicDurabilityException? Refusal { get; private set; }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _run = RunAsync(_stopping.Token); // not awaited: the host goes on starting Kestrel and the consumer service
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public async Task StopAsync(CancellationToken cancellationToken) => await _run.WaitAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stopping.Dispose();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        // Each on a pool thread from its first line: both begin with synchronous work (a librdkafka handle, Polly and
        // Npgsql set-up, and JIT compiling all of it), which would otherwise run one after the other on this thread.
        var checking = Task.Run(() => CheckAsync(cancellationToken), cancellationToken);
        var migrating = Task.Run(() => MigrateAsync(cancellationToken), cancellationToken);
        try
        {
            // The check first: a refusal stops the worker at once, even while the migrations still wait for a database.
            // Its metadata request cannot be cancelled (up to 10 s against a broker that does not answer): a stop does
            // not wait for it, the request ends in the background.
            await checking.WaitAsync(cancellationToken);
            await migrating;
            _ready.TrySetResult(true);
        }
        catch (TopicDurabilityException ex)
        {
            Refusal = ex;
            _ready.TrySetResult(false);
            lifetime.StopApplication();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _ready.TrySetCanceled(cancellationToken);
        }
        catch (Exception ex)
        {
            _ready.TrySetException(ex); // the consumer service fails with it, and the host stops
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        await check.CheckAsync(cancellationToken);
        timeline.Mark(StartupPhase.DurabilityChecked);
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await SchemaStartup.ApplyWithRetryAsync(dataSource, logger, timeProvider, cancellationToken);
        timeline.Mark(StartupPhase.SchemaReady);
    }
}
