using Microsoft.Extensions.Options;
using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Lifecycle;

/// <summary>One partition of an expiring table: rows whose <c>expires_at</c> is in [Lower, Upper).</summary>
public sealed record PartitionInfo(string Parent, string Name, DateTimeOffset Lower, DateTimeOffset Upper);

/// <summary>
/// The partitions of the expiring tables (<c>ingest.payloads</c>, <c>ingest.payload_chunks</c>), kept ahead of every expiry
/// a writer may need: <see cref="EnsureCoveredAsync"/> before a batch whose rows expire past what is known to exist, and
/// each maintenance pass. Creating them serialises on an advisory lock, so concurrent workers create each one once.
/// </summary>
public sealed class Partitions(NpgsqlDataSource dataSource, IOptions<LifecycleOptions> options, RetentionPolicy retention, TimeProvider timeProvider)
{
    /// <summary>The expiring tables, parents of the partitions.</summary>
    public static readonly IReadOnlyList<string> Parents = ["payloads", "payload_chunks"];

    /// <summary>Advisory lock key for partition changes ("ingestpt").</summary>
    private const long LockKey = 0x696E6765737470;

    private long _coveredUntilTicks;

    /// <summary>Expiries up to this instant have a partition in both tables (as far as this process knows).</summary>
    public DateTimeOffset CoveredUntil => new(Interlocked.Read(ref _coveredUntilTicks), TimeSpan.Zero);

    /// <summary>How far ahead partitions are kept: the longest retention and two partitions more.</summary>
    public DateTimeOffset Horizon => timeProvider.GetUtcNow() + retention.Longest + (2 * options.Value.PartitionInterval);

    /// <summary>
    /// Makes sure both tables have partitions up to <paramref name="until"/> (at least <see cref="Horizon"/>); returns how
    /// many it created. Cheap when <see cref="CoveredUntil"/> is already past it.
    /// </summary>
    public async Task<int> EnsureCoveredAsync(DateTimeOffset until, CancellationToken ct)
    {
        if (until < CoveredUntil)
        {
            return 0;
        }

        var target = until > Horizon ? until + options.Value.PartitionInterval : Horizon;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock($1)", ct, Long(LockKey));
        var created = 0;
        DateTimeOffset covered = DateTimeOffset.MaxValue;
        foreach (var parent in Parents)
        {
            await using (var command = Command(connection, transaction, "SELECT ingest.ensure_partitions($1, $2, $3)",
                Text(parent), Time(target), Interval(options.Value.PartitionInterval)))
            {
                created += (int)(await command.ExecuteScalarAsync(ct))!;
            }

            // A statement of its own: it must see the partitions the function just registered.
            await using (var command = Command(connection, transaction, "SELECT max(upper) FROM ingest.partitions WHERE parent = $1", Text(parent)))
            {
                var upper = new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync(ct))!, TimeSpan.Zero);
                covered = upper < covered ? upper : covered;
            }
        }

        await transaction.CommitAsync(ct);
        Interlocked.Exchange(ref _coveredUntilTicks, covered.UtcTicks);
        return created;
    }

    /// <summary>The partitions whose whole range has expired (upper bound at or before <paramref name="now"/>), oldest first.</summary>
    public async Task<List<PartitionInfo>> ExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            "SELECT parent, name, lower, upper FROM ingest.partitions WHERE upper <= $1 ORDER BY upper, parent", Time(now));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var expired = new List<PartitionInfo>();
        while (await reader.ReadAsync(ct))
        {
            expired.Add(new PartitionInfo(
                reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return expired;
    }

    /// <summary>
    /// Detaches <paramref name="partition"/> without blocking writers (<c>DETACH PARTITION … CONCURRENTLY</c>, finishing a
    /// detach an earlier pass left pending) and drops it: its space goes back to the operating system. The payloads still
    /// in it (normally none: the expiry sweep took them) are added to <paramref name="removed"/>.
    /// </summary>
    public async Task DropAsync(PartitionInfo partition, Removed removed, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var attached = await ScalarAsync<string>(connection,
            """
            SELECT CASE WHEN i.inhdetachpending THEN 'pending' ELSE 'attached' END
            FROM pg_inherits i WHERE i.inhrelid = to_regclass('ingest.' || quote_ident($1))
            """, ct, Text(partition.Name));
        var table = $"ingest.{Quote(partition.Parent)}";
        var name = $"ingest.{Quote(partition.Name)}";
        if (attached == "pending")
        {
            await ExecuteAsync(connection, null, $"ALTER TABLE {table} DETACH PARTITION {name} FINALIZE", ct);
        }
        else if (attached == "attached")
        {
            // Not in a transaction block: CONCURRENTLY waits for the queries that see the partition, without locking them out.
            await ExecuteAsync(connection, null, $"ALTER TABLE {table} DETACH PARTITION {name} CONCURRENTLY", ct);
        }

        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (partition.Parent == "payloads" && attached is not null)
        {
            // Counted through the (project, received_at) index, not by reading the partition: a partition of a burst of
            // expiries holds gigabytes, and its space should come back at once. Its bytes are the decoded lengths only
            // where the sweep removed rows; here they are not read (0).
            await using var command = Command(connection, transaction,
                $"SELECT project, count(*), 0::bigint FROM {name} GROUP BY project");
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                removed.Add(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2));
            }
        }

        await ExecuteAsync(connection, transaction, $"DROP TABLE IF EXISTS {name}", ct);
        await ExecuteAsync(connection, transaction, "DELETE FROM ingest.partitions WHERE name = $1", ct, Text(partition.Name));
        await transaction.CommitAsync(ct);
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(connection, null, sql, parameters);
        return await command.ExecuteScalarAsync(ct) is T value ? value : default;
    }
}
