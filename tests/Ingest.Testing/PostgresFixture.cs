using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Testcontainers.PostgreSql;
using Xunit;

namespace Ingest.Testing;

/// <summary>
/// A real PostgreSQL server, resolved in this order: <c>INGEST_TEST_PG</c> (a connection string,
/// set by <c>tests/run.sh</c>) → Testcontainers when a Docker engine answers → the private cluster
/// of <c>tests/pg.sh</c>, started on demand. Each test gets its own database.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly ConcurrentBag<string> _databases = [];
    private PostgreSqlContainer? _container;

    /// <summary>Connection string of the server's maintenance database.</summary>
    public string AdminConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("INGEST_TEST_PG");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            AdminConnectionString = configured.Trim();
        }
        else if (Docker.EngineAnswers)
        {
            _container = new PostgreSqlBuilder("postgres:15.18-bookworm").Build();
            await _container.StartAsync();
            AdminConnectionString = _container.GetConnectionString();
        }
        else
        {
            AdminConnectionString = await StartPrivateClusterAsync();
        }
    }

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = $"t_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_container is not null)
        {
            await _container.DisposeAsync();
            return;
        }

        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        foreach (var name in _databases)
        {
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    private static async Task<string> StartPrivateClusterAsync()
    {
        var script = Path.Combine(RepositoryRoot(), "tests", "pg.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script, "start"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("Could not start bash tests/pg.sh.");
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tests/pg.sh start failed ({process.ExitCode}): {error}");
        }

        return output.Trim();
    }

    /// <summary>The directory holding Ingest.sln, above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ingest.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Ingest.sln above {AppContext.BaseDirectory}.");
    }
}
