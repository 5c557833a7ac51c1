using Npgsql;
using static Ingest.Storage.Sql.Db;

namespace Ingest.Storage.Replay;

/// <summary>
/// What <c>ingest-ops replay</c> asks the store: whether it has the schema, and where in a partition's log the
/// payloads received around a time were (each row keeps its partition, offset and received-at time).
/// </summary>
public static class ReplayQueries
{
    /// <summary>True when <c>ingest.payloads</c> exists (a worker has applied the schema).</summary>
    public static async Task<bool> HasSchemaAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        await using var command = store.CreateCommand("SELECT to_regclass('ingest.payloads') IS NOT NULL");
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The highest offset of <paramref name="partition"/> stored from a payload received before <paramref name="time"/>.</summary>
    public static Task<long?> LastOffsetReceivedBeforeAsync(NpgsqlDataSource store, int partition, DateTimeOffset time, CancellationToken ct) =>
        ScalarAsync(store, "SELECT max(kafka_offset) FROM ingest.payloads WHERE kafka_partition = $1 AND received_at < $2", partition, time, ct);

    /// <summary>The lowest offset of <paramref name="partition"/> stored from a payload received after <paramref name="time"/>.</summary>
    public static Task<long?> FirstOffsetReceivedAfterAsync(NpgsqlDataSource store, int partition, DateTimeOffset time, CancellationToken ct) =>
        ScalarAsync(store, "SELECT min(kafka_offset) FROM ingest.payloads WHERE kafka_partition = $1 AND received_at > $2", partition, time, ct);

    private static async Task<long?> ScalarAsync(NpgsqlDataSource store, string sql, int partition, DateTimeOffset time, CancellationToken ct)
    {
        await using var command = Command(store, sql, Int(partition), Time(time));
        return await command.ExecuteScalarAsync(ct) is long value ? value : null;
    }
}
