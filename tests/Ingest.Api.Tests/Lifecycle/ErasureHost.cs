using Ingest.Api.Lifecycle;
using Ingest.Api.Tests.Hosting;
using Ingest.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Ingest.Api.Tests.Lifecycle;

/// <summary>The API with, beside <see cref="ApiHost"/>'s keys, one key of project p1 that holds only the <c>erase</c> scope.</summary>
public static class ErasureHost
{
    public const string EraseKey = "p1-erase-only-key";

    /// <summary>p1 has keys 0-3 in <see cref="Ingest.Testing.Hosting.TestApiKeys"/>: this one is the fifth.</summary>
    public static readonly string[] EraseKeyArgs =
    [
        $"--Ingest:Projects:{ApiHost.Project}:Keys:4:Sha256={ApiHost.Sha256Hex(EraseKey)}",
        $"--Ingest:Projects:{ApiHost.Project}:Keys:4:Scopes=erase",
    ];

    public static Task<ApiHost> StartAsync(KafkaFixture kafka, string topic, string database, CancellationToken ct, params string[] extraArgs) =>
        ApiHost.StartAsync(kafka, topic, database, ct, [.. EraseKeyArgs, .. extraArgs]);

    public static ErasedSessions Erased(this ApiHost api) => api.App.Services.GetRequiredService<ErasedSessions>();

    /// <summary>A database with the schema, and <paramref name="rows"/> (project, session, seq) stored as the worker stores them.</summary>
    public static async Task<string> DatabaseWithRowsAsync(
        PostgresFixture postgres, CancellationToken ct, params (string Project, string Session, long Seq)[] rows)
    {
        var database = await postgres.CreateDatabaseAsync(ct);
        var stored = new StoredRows(database);
        await stored.ApplySchemaAsync(ct);
        foreach (var (project, session, seq) in rows)
        {
            await stored.InsertAsync(project, session, seq, Payload(seq), "application/json", partition: 0, offset: seq, ct);
        }

        return database;
    }

    /// <summary>The session's <c>erased_at</c> in <c>ingest.sessions</c>; null when it has no row or is not erased.</summary>
    public static async Task<DateTimeOffset?> ErasedAtAsync(string database, string project, string session, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT erased_at FROM ingest.sessions WHERE project = $1 AND session_id = $2", connection)
        {
            Parameters = { new() { Value = project }, new() { Value = session } },
        };
        return await command.ExecuteScalarAsync(ct) is DateTime erasedAt ? new DateTimeOffset(erasedAt, TimeSpan.Zero) : null;
    }

    public static byte[] Payload(long seq) => System.Text.Encoding.UTF8.GetBytes($"{{\"seq\":{seq}}}");
}
