using Ingest.Storage.Resilience;
using Npgsql;
using Polly;

namespace Ingest.Storage.Schema;

/// <summary>Applies migrations at start-up, waiting (with backoff) for a database that is not reachable yet.</summary>
public static class SchemaStartup
{
    /// <summary>Applies pending migrations; retries connection-level and server errors until cancelled.</summary>
    public static async Task ApplyWithRetryAsync(
        NpgsqlDataSource dataSource, ILogger logger, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        // In a compose stack the worker often starts before Postgres accepts connections.
        var pipeline = RetryUntilCancelled.Create(
            timeProvider,
            new PredicateBuilder().Handle<NpgsqlException>().Handle<TimeoutException>(),
            delay: TimeSpan.FromMilliseconds(250),
            maxDelay: TimeSpan.FromSeconds(10),
            args =>
            {
                Log.MigrationRetry(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!.Message);
                return default;
            });
        var applied = await pipeline.ExecuteAsync(
            async token => await SchemaMigrator.ApplyAsync(dataSource, logger, token), cancellationToken);
        Log.SchemaReady(logger, applied);
    }
}
