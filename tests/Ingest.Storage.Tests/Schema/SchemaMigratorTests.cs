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
            [(1, "payloads"), (2, "chunks"), (3, "pending_uploads"), (4, "dead_letter_offset"), (5, "aborted_uploads"), (6, "lifecycle"), (7, "session_max_seq")],
            SchemaMigrator.Migrations.Select(m => (m.Version, m.Name)));
    }

    [Fact]
    public async Task Migrations_apply_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync(ct));

        Assert.Equal(7, await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, ct));
        Assert.Equal(0, await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, ct));
        await using var command = dataSource.CreateCommand("SELECT string_agg(version || ' ' || name, ', ' ORDER BY version) FROM ingest.schema_migrations");
        Assert.Equal("1 payloads, 2 chunks, 3 pending_uploads, 4 dead_letter_offset, 5 aborted_uploads, 6 lifecycle, 7 session_max_seq", await command.ExecuteScalarAsync(ct));
    }

    /// <summary>
    /// A database of the version before retention (migrations 1–5, rows with a global position) upgrades in place: every
    /// row and chunk moves to the partitioned tables with the default retention, sessions get their rows, and the next
    /// payload of a session continues its positions.
    /// </summary>
    [Fact]
    public async Task A_database_stored_before_retention_existed_upgrades_with_its_rows()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await postgres.CreateDatabaseAsync(ct);
        await using (var old = NpgsqlDataSource.Create(connectionString))
        {
            await using var connection = await old.OpenConnectionAsync(ct);
            await Execute(connection, "CREATE SCHEMA ingest; CREATE TABLE ingest.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", ct);
            foreach (var (version, name, sql) in SchemaMigrator.Migrations.Where(m => m.Version <= 5))
            {
                await Execute(connection, sql, ct);
                await Execute(connection, $"INSERT INTO ingest.schema_migrations (version, name) VALUES ({version}, '{name}')", ct);
            }

            await Execute(connection,
                """
                INSERT INTO ingest.payloads (project, session_id, seq, payload_id, content_type, length, checksum, encoding, body,
                                             kafka_partition, kafka_offset, received_at, chunk_count)
                VALUES ('p', 'a', 0, gen_random_uuid(), 'application/json', 1, 1, 'lz4', '\x01', 0, 0, now() - interval '2 days', 1),
                       ('q', 'b', 0, gen_random_uuid(), 'application/json', 1, 1, 'lz4', '\x01', 0, 1, now() - interval '1 day', 1),
                       ('p', 'a', 1, '11111111-1111-1111-1111-111111111111', 'application/json', 2, 1, 'lz4', NULL, 0, 3, now(), 2);
                INSERT INTO ingest.payload_chunks (payload_id, chunk_index, length, body, kafka_partition, kafka_offset)
                VALUES ('11111111-1111-1111-1111-111111111111', 0, 1, '\x01', 0, 2), ('11111111-1111-1111-1111-111111111111', 1, 1, '\x01', 0, 3),
                       ('22222222-2222-2222-2222-222222222222', 0, 1, '\x01', 0, 4);
                INSERT INTO ingest.pending_uploads (payload_id, topic, kafka_partition, next_chunk, length, last_log_time)
                VALUES ('22222222-2222-2222-2222-222222222222', 't', 0, 1, 1, now());
                """, ct);
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        Assert.Equal(2, await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, ct));

        Assert.Equal("p/a/0/1/30, p/a/1/3/30, q/b/0/2/30", await Scalar(dataSource,
            """
            SELECT string_agg(format('%s/%s/%s/%s/%s', project, session_id, seq, position,
                              round(extract(epoch FROM expires_at - received_at) / 86400)), ', ' ORDER BY project, session_id, seq)
            FROM ingest.payloads
            """, ct));
        // Migration 7 records each session's highest stored seq.
        Assert.Equal("p/a/3/1, q/b/2/0", await Scalar(dataSource,
            "SELECT string_agg(format('%s/%s/%s/%s', project, session_id, next_position, max_seq), ', ' ORDER BY project) FROM ingest.sessions", ct));
        Assert.Equal("3", await Scalar(dataSource, "SELECT count(*)::text FROM ingest.payload_chunks", ct));
        Assert.Equal("0", await Scalar(dataSource, "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'ingest' AND tablename LIKE '%legacy%'", ct));
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<string?> Scalar(NpgsqlDataSource dataSource, string sql, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (string?)await command.ExecuteScalarAsync(ct);
    }
}
