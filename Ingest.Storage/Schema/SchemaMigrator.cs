using Npgsql;

namespace Ingest.Storage.Schema;

/// <summary>
/// Applies the versioned SQL files embedded in this assembly (<c>Schema/Migrations/NNNN_name.sql</c>),
/// each once, in order. The worker is the schema's only owner; concurrent starts serialise on a
/// transaction-scoped advisory lock, so two replicas starting together apply each file exactly once.
/// </summary>
public static partial class SchemaMigrator
{
    /// <summary>Advisory lock key for migrations ("ingest" in ASCII, an arbitrary but fixed number).</summary>
    private const long LockKey = 0x696E67657374;

    private const string ResourcePrefix = "Ingest.Storage.Migrations.";

    /// <summary>The embedded migrations, ordered by version.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } = Load();

    /// <summary>Applies pending migrations; returns how many were applied.</summary>
    public static async Task<int> ApplyAsync(NpgsqlDataSource dataSource, ILogger logger, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var command = new NpgsqlCommand(
            """
            SELECT pg_advisory_xact_lock(@key);
            CREATE SCHEMA IF NOT EXISTS ingest;
            CREATE TABLE IF NOT EXISTS ingest.schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """,
            connection,
            transaction))
        {
            command.Parameters.AddWithValue("key", LockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<int>();
        await using (var command = new NpgsqlCommand("SELECT version FROM ingest.schema_migrations", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var count = 0;
        foreach (var (version, name, sql) in Migrations.Where(m => !applied.Contains(m.Version)))
        {
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var command = new NpgsqlCommand(
                "INSERT INTO ingest.schema_migrations (version, name) VALUES (@version, @name)", connection, transaction))
            {
                command.Parameters.AddWithValue("version", version);
                command.Parameters.AddWithValue("name", name);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            LogApplied(logger, version, name);
            count++;
        }

        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    private static List<(int, string, string)> Load()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var result = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = resource[ResourcePrefix.Length..^".sql".Length];
            var separator = file.IndexOf('_', StringComparison.Ordinal);
            var version = int.Parse(file.AsSpan(0, separator), System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"Migration resource {resource} vanished.");
            using var reader = new StreamReader(stream);
            result.Add((version, file[(separator + 1)..], reader.ReadToEnd()));
        }

        result.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return result;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Applied schema migration {Version} ({Name})")]
    private static partial void LogApplied(ILogger logger, int version, string name);
}
