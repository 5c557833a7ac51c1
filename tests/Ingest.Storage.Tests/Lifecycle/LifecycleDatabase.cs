using Ingest.Storage.Schema;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Storage.Tests.Lifecycle;

/// <summary>A test's own database with the schema applied, rows written as the worker writes them, and direct SQL.</summary>
public sealed class LifecycleDatabase : IAsyncDisposable
{
    private LifecycleDatabase(string connectionString)
    {
        Rows = new StoredRows(connectionString);
        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    public NpgsqlDataSource DataSource { get; }

    public StoredRows Rows { get; }

    /// <param name="postgres">The server.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="upToVersion">Apply the migrations up to this version only (a store an older worker created).</param>
    public static async Task<LifecycleDatabase> CreateAsync(PostgresFixture postgres, CancellationToken ct, int? upToVersion = null)
    {
        var db = new LifecycleDatabase(await postgres.CreateDatabaseAsync(ct));
        if (upToVersion is { } version)
        {
            await db.ExecuteAsync("CREATE SCHEMA IF NOT EXISTS ingest", ct);
            foreach (var migration in SchemaMigrator.Migrations.Where(m => m.Version <= version))
            {
                await db.ExecuteAsync(migration.Sql, ct);
            }
        }
        else
        {
            await db.Rows.ApplySchemaAsync(ct);
            // The partitions StoredRows.InsertAsync needs, made ahead: it cannot create them in the statement that inserts.
            await db.ExecuteAsync("SELECT ingest.ensure_partitions('payloads', now() + interval '32 days', interval '1 day')", ct);
        }

        return db;
    }

    /// <summary>Stores <paramref name="count"/> payloads of <paramref name="project"/>/<paramref name="session"/> (seq 0, 1, …).</summary>
    public async Task InsertAsync(string project, string session, int count, CancellationToken ct)
    {
        for (var seq = 0; seq < count; seq++)
        {
            await Rows.InsertAsync(project, session, seq, [1, 2, 3], "application/json", 0, seq, ct);
        }
    }

    /// <summary>A pending (unfinished) chunked upload of the session, expiring at <c>now() + expiresIn</c>.</summary>
    public Task InsertPendingUploadAsync(string project, string session, string expiresIn, CancellationToken ct) =>
        ExecuteAsync(
            $"""
            INSERT INTO ingest.pending_uploads (payload_id, topic, kafka_partition, next_chunk, length, last_log_time, project, session_id, expires_at)
            VALUES (gen_random_uuid(), 't', 0, 1, 10, now(), '{project}', '{session}', now() + interval '{expiresIn}')
            """, ct);

    public async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<T> ScalarAsync<T>(string sql, CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task<DateTimeOffset> TimeAsync(string sql, CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(ct);
        Assert.True(await reader.ReadAsync(ct), $"no row: {sql}");
        return reader.GetFieldValue<DateTimeOffset>(0);
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
