using System.IO.Hashing;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Batches;
using Ingest.Storage.Lifecycle;
using Ingest.Storage.Payloads;
using Ingest.Storage.Schema;
using Ingest.Testing;
using Ingest.Worker.Consuming;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Worker.Tests.Storage;

/// <summary>Partitions' batches waiting at the same time share one transaction; a refused payload fails only its own batch.</summary>
public sealed class SharedTransactionsTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Batches_waiting_while_a_transaction_runs_share_the_next_one_and_each_gets_its_own_results()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await Database.CreateAsync(postgres, ct);
        await db.Transactions.StoreAsync(db.Part(0, "held", 0), null, ct); // the session row the blocker will lock

        // A blocker holds the session row of partition 0's batch: the one transaction allowed waits on it.
        await using var blocker = await db.Source.OpenConnectionAsync(ct);
        await using var hold = await blocker.BeginTransactionAsync(ct);
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM ingest.sessions WHERE session_id = 'held' FOR UPDATE", blocker, hold))
        {
            await lockRow.ExecuteNonQueryAsync(ct);
        }

        var first = db.Transactions.StoreAsync(db.Part(0, "held", 1), null, ct);
        await Eventually.TrueAsync(
            async () => await db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", ct) == 1,
            TimeSpan.FromSeconds(30), "the first transaction waiting on the blocker's lock", ct);
        var waiting = Enumerable.Range(1, 3).Select(p => db.Transactions.StoreAsync(db.Part(p, $"s{p}", 0, count: 2), null, ct)).ToList();
        await hold.RollbackAsync(ct);

        Assert.Equal(StoreOutcome.Stored, Assert.Single((await first).Results).Outcome);
        foreach (var batch in waiting)
        {
            Assert.Equal([StoreOutcome.Stored, StoreOutcome.Stored], (await batch).Results.Select(r => r.Outcome));
        }

        // Rows one transaction wrote share its id (xmin): the three waiting batches were stored together.
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(DISTINCT xmin::text) FROM ingest.payloads WHERE session_id LIKE 's%'", ct));
        Assert.Equal(6L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads WHERE session_id LIKE 's%'", ct));
    }

    [Fact]
    public async Task A_payload_the_table_refuses_fails_only_the_batch_it_is_in()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await Database.CreateAsync(postgres, ct);
        await db.Execute("ALTER TABLE ingest.payloads ADD CONSTRAINT no_seq_7 CHECK (seq <> 7)", ct);
        await using var blocker = await db.Source.OpenConnectionAsync(ct);
        await using var hold = await blocker.BeginTransactionAsync(ct);
        await db.Transactions.StoreAsync(db.Part(0, "held", 0), null, ct);
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM ingest.sessions WHERE session_id = 'held' FOR UPDATE", blocker, hold))
        {
            await lockRow.ExecuteNonQueryAsync(ct);
        }

        var first = db.Transactions.StoreAsync(db.Part(0, "held", 1), null, ct);
        await Eventually.TrueAsync(
            async () => await db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", ct) == 1,
            TimeSpan.FromSeconds(30), "the first transaction waiting on the blocker's lock", ct);
        var good = db.Transactions.StoreAsync(db.Part(1, "good", 1, count: 4), null, ct);
        var bad = db.Transactions.StoreAsync(db.Part(2, "bad", 5, count: 4), null, ct); // seqs 5–8: 7 is refused
        await hold.RollbackAsync(ct);

        await first;
        Assert.All((await good).Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => bad);
        Assert.Equal(StoreErrorKind.Data, PostgresErrors.Classify(refused));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads WHERE session_id = 'bad'", ct));
        Assert.Equal(4L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads WHERE session_id = 'good'", ct));
    }

    private sealed class Database(NpgsqlDataSource source) : IAsyncDisposable
    {
        private long _offset;

        public NpgsqlDataSource Source => source;

        public required SharedTransactions Transactions { get; init; }

        public static async Task<Database> CreateAsync(PostgresFixture postgres, CancellationToken ct)
        {
            var source = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync(ct));
            await SchemaMigrator.ApplyAsync(source, NullLogger.Instance, ct);
            var retention = new RetentionPolicy(LifecycleOptions.DefaultRetentionValue, new Dictionary<string, TimeSpan>());
            var lifecycle = Options.Create(new LifecycleOptions());
            var store = new PayloadStore(
                source, NullLogger<PayloadStore>.Instance, retention, new Partitions(source, lifecycle, retention, TimeProvider.System), TimeProvider.System);
            // One transaction at a time: what waits while it runs goes into the next one.
            return new Database(source) { Transactions = new SharedTransactions(store, Options.Create(new WorkerOptions { MaxConcurrentTransactions = 1 }), new WorkerTelemetry(), TimeProvider.System) };
        }

        /// <summary>A batch of partition <paramref name="partition"/>: <paramref name="count"/> payloads of the session from seq <paramref name="seq"/>.</summary>
        public BatchPart Part(int partition, string session, long seq, int count = 1) =>
            new([.. Enumerable.Range(0, count).Select(i =>
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes($"{session} {seq + i}");
                var envelope = new PayloadEnvelope(
                    "p", session, seq + i, "application/json", PayloadCodec.Name, DateTimeOffset.UtcNow, Guid.NewGuid(), bytes.Length, XxHash3.HashToUInt64(bytes));
                return new IncomingPayload(envelope, PayloadCodec.Encode(bytes), partition, _offset++, "t", DateTimeOffset.UtcNow);
            })], null);

        public async Task Execute(string sql, CancellationToken ct)
        {
            await using var command = source.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task<T> ScalarAsync<T>(string sql, CancellationToken ct)
        {
            await using var command = source.CreateCommand(sql);
            return (T)(await command.ExecuteScalarAsync(ct))!;
        }

        public ValueTask DisposeAsync() => source.DisposeAsync();
    }
}
