using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Batches;
using Ingest.Storage.Lifecycle;
using Ingest.Storage.Payloads;
using Ingest.Storage.Schema;
using Ingest.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Storage.Tests.Payloads;

/// <summary>A fresh database with the schema applied, its <see cref="PayloadStore"/>, and the rows it holds.</summary>
public sealed class StoreDatabase : IAsyncDisposable
{
    private long _nextOffset;

    private StoreDatabase(NpgsqlDataSource dataSource, RetentionPolicy? retention, TimeSpan? partitionInterval)
    {
        DataSource = dataSource;
        Retention = retention ?? new RetentionPolicy(LifecycleOptions.DefaultRetentionValue, new Dictionary<string, TimeSpan>());
        var options = new LifecycleOptions { DefaultRetention = Retention.Default, PartitionInterval = partitionInterval ?? TimeSpan.FromDays(1) };
        Partitions = new Partitions(dataSource, Options.Create(options), Retention, TimeProvider.System);
        Store = new PayloadStore(dataSource, NullLogger<PayloadStore>.Instance, Retention, Partitions, TimeProvider.System);
        Maintenance = new Maintenance(dataSource, Partitions, Retention, Options.Create(options), TimeProvider.System);
    }

    public NpgsqlDataSource DataSource { get; }

    public PayloadStore Store { get; }

    public RetentionPolicy Retention { get; }

    public Partitions Partitions { get; }

    public Maintenance Maintenance { get; }

    /// <param name="postgres">The server.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="oneConnection">A pool of one connection: every batch runs on the same one.</param>
    /// <param name="retention">The projects' retention; default 30 days for all.</param>
    /// <param name="partitionInterval">Expiry span of a partition; default 1 day.</param>
    public static async Task<StoreDatabase> CreateAsync(
        PostgresFixture postgres, CancellationToken ct, bool oneConnection = false, RetentionPolicy? retention = null, TimeSpan? partitionInterval = null)
    {
        var connectionString = await postgres.CreateDatabaseAsync(ct);
        var dataSource = NpgsqlDataSource.Create(oneConnection
            ? new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 1 }.ConnectionString
            : connectionString);
        await SchemaMigrator.ApplyAsync(dataSource, NullLogger.Instance, ct);
        return new StoreDatabase(dataSource, retention, partitionInterval);
    }

    public static PayloadEnvelope EnvelopeFor(string session, long seq, byte[] bytes) =>
        new("p", session, seq, "application/json", PayloadCodec.Name, DateTimeOffset.UtcNow, Guid.NewGuid(), bytes.Length, XxHash3.HashToUInt64(bytes));

    /// <summary>A message of partition 0 at the next offset, carrying <paramref name="bytes"/> under <paramref name="envelope"/>.</summary>
    public IncomingPayload Message(PayloadEnvelope envelope, byte[] bytes) =>
        new(envelope, PayloadCodec.Encode(bytes), 0, _nextOffset++, "t", DateTimeOffset.UtcNow);

    public Task<StoredBatch> StoreAsync(IReadOnlyList<IncomingPayload> batch, CancellationToken ct) => Store.StoreAsync(batch, null, null, ct);

    /// <summary>Every stored row in position order: session, seq, position, payload id, offset and decoded body.</summary>
    public async Task<List<(string Session, long Seq, long Position, Guid PayloadId, long Offset, byte[] Bytes)>> RowsAsync(CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(
            "SELECT session_id, seq, position, payload_id, kafka_offset, body FROM ingest.payloads ORDER BY stored_at, kafka_offset");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<(string, long, long, Guid, long, byte[])>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetGuid(3), reader.GetInt64(4),
                PayloadCodec.Decode(reader.GetFieldValue<byte[]>(5))));
        }

        return rows;
    }

    public async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Another store on the same database, as a worker with other settings would write it.</summary>
    public StoreDatabase With(RetentionPolicy retention, TimeSpan? partitionInterval = null) => new(DataSource, retention, partitionInterval) { _nextOffset = _nextOffset };

    public async Task<T> ScalarAsync<T>(string sql, CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
