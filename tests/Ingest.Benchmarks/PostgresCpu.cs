using Npgsql;

namespace Ingest.Benchmarks;

/// <summary>
/// CPU of the Postgres server spent for one database: its backends (whose process title names the database) and the
/// cluster's shared writers (checkpointer, background writer, WAL writer, autovacuum launcher), which work for whoever
/// writes — on a shared machine another test's writes are in them too. Other databases' backends are left out. Found from
/// the harness's own backend: its parent is the postmaster. Not measurable (null) when the server is not a local process.
/// </summary>
public sealed class PostgresCpu
{
    private static readonly string[] SharedProcesses = ["checkpointer", "background writer", "walwriter", "autovacuum launcher"];

    private readonly int _postmaster;
    private readonly string _database;
    private readonly HashSet<int> _excluded = [];
    private readonly Dictionary<int, (TimeSpan First, TimeSpan Last)> _seen = [];

    private PostgresCpu(int postmaster, string database)
    {
        _postmaster = postmaster;
        _database = database;
    }

    /// <summary>Leaves out a backend that only watches (the harness's polling connection: its counting is not the workers' cost).</summary>
    public void Exclude(int backend) => _excluded.Add(backend);

    /// <summary>The server behind <paramref name="connectionString"/> if it runs on this machine, null otherwise.</summary>
    public static async Task<PostgresCpu?> FindAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        var backend = (int)(await source.CreateCommand("SELECT pg_backend_pid()").ExecuteScalarAsync(cancellationToken))!;
        var postmaster = ProcessCpu.ParentOf(backend);
        return postmaster is { } pid && ProcessCpu.CommandLine(pid) is { } line && line.Contains("postgres", StringComparison.Ordinal)
            ? new PostgresCpu(pid, new NpgsqlConnectionStringBuilder(connectionString).Database!)
            : null;
    }

    /// <summary>
    /// Reads the counted processes' CPU now. A process first seen by a later call counts from zero (it started in the
    /// window); one that exits keeps what the last call saw, so call it often enough (a backend lives as long as its pool
    /// keeps the connection: the whole run, unless idle for minutes).
    /// </summary>
    public void Sample(bool first = false)
    {
        foreach (var pid in ProcessCpu.All())
        {
            if (_excluded.Contains(pid) || (pid != _postmaster && ProcessCpu.ParentOf(pid) != _postmaster))
            {
                continue;
            }

            var title = ProcessCpu.CommandLine(pid) ?? "";
            var counted = pid == _postmaster
                || title.Contains($" {_database} ", StringComparison.Ordinal) || title.EndsWith($" {_database}", StringComparison.Ordinal)
                || SharedProcesses.Any(p => title.EndsWith(p, StringComparison.Ordinal));
            if (counted && ProcessCpu.OfProcess(pid) is { } cpu)
            {
                _seen[pid] = _seen.TryGetValue(pid, out var known) ? (known.First, cpu) : (first ? cpu : TimeSpan.Zero, cpu);
            }
        }
    }

    /// <summary>CPU of the counted processes between the first <see cref="Sample"/> and the last.</summary>
    public TimeSpan Used => _seen.Values.Aggregate(TimeSpan.Zero, (sum, p) => sum + (p.Last - p.First));
}
