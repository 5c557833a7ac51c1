using Ingest.Storage.Schema;
using Ingest.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Ingest.Storage.Tests.Schema;

public sealed class SchemaMigratorTests(PostgresFixture postgres)
{
    /// <summary>The versions and names a database migrated by any earlier worker has recorded: none may be applied again.</summary>
    [Fact]
    public void The_embedded_migrations_keep_their_versions_and_names()
    {
        Assert.Equal(
            [(1, "payloads"), (2, "chunks"), (3, "pending_uploads"), (4, "dead_letter_offset"), (5, "aborted_uploads"), (6, "lifecycle")],
            SchemaMigrator.Migrations.Select(m => (m.Version, m.Name)));
    }

    [Fact]
    public async Task Migrations_apply_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync(ct));

        Assert.Equal(6, await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, ct));
        Assert.Equal(0, await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, ct));
        await using var command = dataSource.CreateCommand("SELECT string_agg(version || ' ' || name, ', ' ORDER BY version) FROM ingest.schema_migrations");
        Assert.Equal("1 payloads, 2 chunks, 3 pending_uploads, 4 dead_letter_offset, 5 aborted_uploads, 6 lifecycle", await command.ExecuteScalarAsync(ct));
    }
}
