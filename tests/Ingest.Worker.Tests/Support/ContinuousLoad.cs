using Npgsql;

namespace Ingest.Worker.Tests.Support;

/// <summary>
/// Payloads produced one after another (each awaited) across sessions until stopped, as a steady stream
/// whose stored rows show how long each partition went unprocessed during a failover.
/// </summary>
public sealed class ContinuousLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private readonly int[] _next;

    public ContinuousLoad(IsolatedStack stack, int sessions)
    {
        _next = new int[sessions];
        _run = Task.Run(async () =>
        {
            var bytes = new byte[512];
            while (!_stop.IsCancellationRequested)
            {
                for (var s = 0; s < sessions && !_stop.IsCancellationRequested; s++)
                {
                    await stack.ProduceAsync($"load-{s}", _next[s], bytes, CancellationToken.None);
                    _next[s]++;
                }
            }
        });
    }

    /// <summary>How many payloads each session got (valid after <see cref="StopAsync"/>).</summary>
    public IReadOnlyDictionary<string, int> Produced => _next.Select((n, s) => (n, s)).ToDictionary(x => $"load-{x.s}", x => x.n);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
    }

    /// <summary>
    /// The longest time any partition went without a stored row (by stored_at) between
    /// <paramref name="from"/> and <paramref name="to"/>: the processing pause a failover caused.
    /// </summary>
    public static async Task<TimeSpan> LongestPauseAsync(string connectionString, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce(max(gap), 0) FROM (
                -- The first row after the event counts from the event itself.
                SELECT extract(epoch FROM stored_at - coalesce(lag(stored_at) OVER (PARTITION BY kafka_partition ORDER BY stored_at), $1)) AS gap
                FROM ingest.payloads WHERE stored_at BETWEEN $1 AND $2) g
            """, connection)
        {
            Parameters = { new NpgsqlParameter<DateTimeOffset> { TypedValue = from }, new NpgsqlParameter<DateTimeOffset> { TypedValue = to } },
        };
        return TimeSpan.FromSeconds(Convert.ToDouble(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The longest received → stored time of the payloads received between <paramref name="from"/> and <paramref name="to"/>.</summary>
    public static async Task<TimeSpan> LongestLatencyAsync(string connectionString, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(max(extract(epoch FROM stored_at - received_at)), 0) FROM ingest.payloads WHERE received_at BETWEEN $1 AND $2",
            connection)
        {
            Parameters = { new NpgsqlParameter<DateTimeOffset> { TypedValue = from }, new NpgsqlParameter<DateTimeOffset> { TypedValue = to } },
        };
        return TimeSpan.FromSeconds(Convert.ToDouble(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}
