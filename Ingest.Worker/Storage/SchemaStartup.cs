using Npgsql;
using Polly;
using Polly.Retry;

namespace Ingest.Worker.Storage;

/// <summary>Applies migrations at start-up, waiting (with backoff) for a database that is not reachable yet.</summary>
public static class SchemaStartup
{
    /// <summary>Applies pending migrations; retries connection-level and server errors until cancelled.</summary>
    public static async Task ApplyWithRetryAsync(
        NpgsqlDataSource dataSource, ILogger logger, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                // In a compose stack the worker often starts before Postgres accepts connections.
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>().Handle<TimeoutException>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(10),
                OnRetry = args =>
                {
                    Log.MigrationRetry(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!.Message);
                    return default;
                },
            })
            .Build();
        var applied = await pipeline.ExecuteAsync(
            async token => await SchemaMigrator.ApplyAsync(dataSource, logger, token), cancellationToken);
        Log.SchemaReady(logger, applied);
    }
}
