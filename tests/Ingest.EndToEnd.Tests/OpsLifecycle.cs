using System.Text.Json;
using Ingest.Testing;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Ingest.EndToEnd.Tests;

/// <summary>What <see cref="OpsLifecycleTests"/> run the tool with: a store of the test's own and settings passed in.</summary>
internal static class OpsLifecycle
{
    /// <summary>A fresh store with the schema, ready for <see cref="StoredRows.InsertAsync"/>.</summary>
    public static async Task<StoredRows> StoreAsync(PostgresFixture postgres, CancellationToken ct)
    {
        var store = new StoredRows(await postgres.CreateDatabaseAsync(ct));
        await store.ApplySchemaAsync(ct);
        // The partitions StoredRows.InsertAsync needs, made ahead: it cannot create them in the statement that inserts.
        await ScalarAsync<int>(store, "SELECT ingest.ensure_partitions('payloads', now() + interval '32 days', interval '1 day')", ct);
        return store;
    }

    /// <summary>Settings as the tool would read them from the environment (keys as configuration names them).</summary>
    public static IConfiguration Settings(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();

    public static async Task<(int Code, string Output, string Error)> RunAsync(IConfiguration settings, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Ops.Program.MainAsync(args, output, error, settings);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Runs with <c>--json</c>, asserting exit 0.</summary>
    public static async Task<JsonElement> JsonAsync(IConfiguration settings, params string[] args)
    {
        var (code, output, error) = await RunAsync(settings, [.. args, "--json"]);
        Assert.True(code == 0, $"ingest-ops {string.Join(' ', args)}: exit {code}, {error}");
        return JsonDocument.Parse(output).RootElement;
    }

    public static async Task<T> ScalarAsync<T>(StoredRows store, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(store.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }
}
