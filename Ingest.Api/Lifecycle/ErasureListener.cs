using Ingest.Api.Payloads;
using Ingest.Storage.Lifecycle;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Api.Lifecycle;

/// <summary>
/// Keeps <see cref="ErasedSessions"/> fresh: loads every tombstone in force, then listens on
/// <see cref="SessionErasures.Channel"/> (another API instance's erasure arrives within a round trip) and loads the whole
/// set again every <c>Api:ErasureRefreshInterval</c> (what a lost notification or connection missed). When the database goes
/// away it reconnects with back-off and loads the whole set after each reconnect; the API serves posts meanwhile (the
/// workers drop an erased session's payloads whatever the API accepted).
/// </summary>
public sealed class ErasureListener(
    NpgsqlDataSource dataSource,
    ErasedSessions cache,
    RetentionPolicy retention,
    IOptions<ApiOptions> api,
    TimeProvider time,
    ILogger<ErasureListener> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    /// <summary>Longest the API's start waits for the first load: a database that does not answer must not keep it down.</summary>
    private static readonly TimeSpan FirstLoadTimeout = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Hosted services start before Kestrel listens: waiting (briefly) for the first load means a restarted API already
    /// refuses posts to erased sessions with its first request. A failed first attempt does not hold the start up.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await Task.WhenAny(_firstAttempt.Task, Task.Delay(FirstLoadTimeout, time, cancellationToken));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(() => failures = 0, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                cache.SetListening(false);
                _firstAttempt.TrySetResult();
                failures++;
                var retryIn = Backoff(failures);
                Log.ListenFailed(logger, failures, retryIn, ex.Message);
                try
                {
                    await Task.Delay(retryIn, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Listens, loads, then waits for notifications until the connection fails (an exception) or the service stops.</summary>
    private async Task ListenAsync(Action onConnected, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        connection.Notification += OnNotification;
        await using (var listen = new NpgsqlCommand($"LISTEN {SessionErasures.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }

        // After LISTEN: an erasure committed before it is in the load, one committed after it is notified.
        await cache.ReloadAsync(token => SessionErasures.LoadActiveAsync(connection, token), ct);
        var loadedAt = time.GetTimestamp();
        cache.SetListening(true);
        _firstAttempt.TrySetResult();
        onConnected();
        Log.Listening(logger, cache.Count);
        while (true)
        {
            var wait = api.Value.ErasureRefreshInterval - time.GetElapsedTime(loadedAt);
            if (wait <= TimeSpan.Zero)
            {
                // On the listening connection: one that silently died (a dropped idle TCP connection delivers nothing, and
                // fails nothing, while it waits) fails here, and is replaced.
                await cache.ReloadAsync(token => SessionErasures.LoadActiveAsync(connection, token), ct);
                loadedAt = time.GetTimestamp();
                Log.Reloaded(logger, cache.Count);
                continue;
            }

            // Notifications are delivered (OnNotification) while the connection waits; false is the timeout.
            await connection.WaitAsync(wait, ct);
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (!SessionErasures.TryParseNotification(e.Payload, out var project, out var sessionId))
        {
            Log.BadNotification(logger, e.Channel, e.Payload);
            return;
        }

        // The notification carries no keep_until: the erasure's own is now + the project's retention, and the next full
        // load brings the database's.
        cache.Add(new ErasureTombstone(project, sessionId, time.GetUtcNow() + retention.For(project)));
    }

    private TimeSpan Backoff(int failures)
    {
        var cap = api.Value.ErasureRefreshInterval < MaxRetry ? api.Value.ErasureRefreshInterval : MaxRetry;
        var delay = FirstRetry * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < cap ? delay : cap;
    }
}
