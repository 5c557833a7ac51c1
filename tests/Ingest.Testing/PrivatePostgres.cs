using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Ingest.Testing;

/// <summary>
/// A PostgreSQL cluster owned by one test (its own data directory and port), so the test can stop and
/// restart the server without disturbing others. Like <c>tests/pg.sh</c>: initdb/pg_ctl run as the
/// <c>postgres</c> user when the tests run as root; loopback only; trust auth.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dir;

    private PrivatePostgres(string bin, string dir, int port)
    {
        _bin = bin;
        _dir = dir;
        Port = port;
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=5;Command Timeout=30";
    }

    public int Port { get; }

    /// <summary>Connection string of the cluster's <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>Initialises and starts a new cluster on a free port.</summary>
    public static async Task<PrivatePostgres> StartAsync(CancellationToken cancellationToken)
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("No PostgreSQL binaries under /usr/lib/postgresql (run bash tests/pg.sh start once).");
        var dir = Path.Combine(Path.GetTempPath(), $"ingest-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["postgres:postgres", dir], cancellationToken);
        }

        var cluster = new PrivatePostgres(bin, dir, FreePort());
        await cluster.AsPostgresAsync("initdb", ["-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], cancellationToken);
        await cluster.ResumeAsync(cancellationToken);
        return cluster;
    }

    /// <summary>Stops the server at once (fast shutdown: open connections are terminated).</summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        AsPostgresAsync("pg_ctl", ["-D", _dir, "-m", "fast", "-w", "stop"], cancellationToken);

    /// <summary>Starts the (stopped) server again on the same port and data.</summary>
    public Task ResumeAsync(CancellationToken cancellationToken) =>
        AsPostgresAsync("pg_ctl",
        [
            "-D", _dir, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60", "start",
            "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {_dir} -c max_connections=100 -c fsync=off",
        ], cancellationToken);

    /// <summary>Creates a database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await AsPostgresAsync("pg_ctl", ["-D", _dir, "-m", "immediate", "-w", "stop"], CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_dir, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task AsPostgresAsync(string tool, string[] args, CancellationToken cancellationToken) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args], cancellationToken)
            : RunAsync(Path.Combine(_bin, tool), args, cancellationToken);

    private static async Task RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
}
