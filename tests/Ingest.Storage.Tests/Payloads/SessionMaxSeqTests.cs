using System.Text;
using Ingest.Contracts.Chunking;
using Ingest.Storage.Payloads;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Storage.Tests.Payloads;

/// <summary>
/// <c>ingest.sessions.max_seq</c> as the batch's upsert sets it (<see cref="BatchSessions"/>): the batch's highest seq
/// that may become a row, one row version per session and transaction, and the value from before the batch deciding
/// which rows need no look-up.
/// </summary>
public sealed class SessionMaxSeqTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Max_seq_after_a_batch_is_the_highest_seq_of_its_rows_and_chunks_not_last_leave_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        await db.StoreAsync([Whole(db, "c", 2)], ct);
        var payload = Bytes(new string('x', 10_000));
        var chunks = ChunkSequenceWriter.Split(StoreDatabase.EnvelopeFor("c", 20, payload), payload, 4096)
            .Select(c => db.Message(c.Envelope, c.Data.ToArray())).ToList();
        var fresh = ChunkSequenceWriter.Split(StoreDatabase.EnvelopeFor("n", 4, payload), payload, 4096)
            .Select(c => db.Message(c.Envelope, c.Data.ToArray())).ToList();

        // Seqs out of order (the highest is not last); "c" and "n" get only chunks before their last one.
        var stored = await db.StoreAsync([Whole(db, "a", 3), Whole(db, "a", 9), chunks[0], fresh[0], Whole(db, "a", 5), chunks[1], fresh[1]], ct);

        Assert.Equal(
            [StoreOutcome.Stored, StoreOutcome.Stored, StoreOutcome.ChunkStaged, StoreOutcome.ChunkStaged, StoreOutcome.Stored, StoreOutcome.ChunkStaged,
             StoreOutcome.ChunkStaged],
            stored.Results.Select(r => r.Outcome));
        Assert.Equal([("a", 9L), ("c", 2L), ("n", null)], await MaxSeqsAsync(db, ct));

        Assert.Equal(StoreOutcome.Stored, Assert.Single((await db.StoreAsync([chunks[2]], ct)).Results).Outcome);
        Assert.Equal([("a", 9L), ("c", 20L), ("n", null)], await MaxSeqsAsync(db, ct));
    }

    [Fact]
    public async Task The_max_seq_from_before_the_batch_decides_which_rows_are_unseen()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var messages = Enumerable.Range(0, 15).Select(seq => Whole(db, "s", seq)).ToList();
        await db.StoreAsync(messages[..5], ct);

        // In the batch's transaction, as PayloadStore does it: the upsert has raised max_seq to 14 already, and yet
        // 5…14 are unseen, and the redelivered 3 and 4 are not.
        await using (var connection = await db.DataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            var sessions = await BatchSessions.UpsertAsync(connection, transaction, messages[3..].Select(m => (m, ExpiresAt(db, m))), ct);
            Assert.Equal(
                [false, false, .. Enumerable.Repeat(true, 10)],
                messages[3..].Select(m => sessions.TakeUnseenSeq(m.Envelope)));
            await using var command = new NpgsqlCommand("SELECT max_seq FROM ingest.sessions", connection, transaction);
            Assert.Equal(14L, await command.ExecuteScalarAsync(ct));
        }

        // The same through the store: 10 unseen rows go by COPY, the two redeliveries are found.
        var stored = await db.StoreAsync(messages[3..], ct);

        Assert.Equal([StoreOutcome.Redelivery, StoreOutcome.Redelivery, .. Enumerable.Repeat(StoreOutcome.Stored, 10)], stored.Results.Select(r => r.Outcome));
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)i), (await db.RowsAsync(ct)).Select(r => r.Seq));
        Assert.Equal([("s", 14L)], await MaxSeqsAsync(db, ct));
    }

    [Fact]
    public async Task Rows_another_writer_stored_while_the_upsert_waited_for_its_lock_are_not_taken_for_unseen()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        await db.StoreAsync([Whole(db, "s", 0)], ct);
        var other = Whole(db, "s", 7);

        // Another writer of the session (a rebalance's old owner) holds its row and stores seq 7, not committed yet.
        await using var otherConnection = await db.DataSource.OpenConnectionAsync(ct);
        await using var otherTransaction = await otherConnection.BeginTransactionAsync(ct);
        var otherSessions = await BatchSessions.UpsertAsync(otherConnection, otherTransaction, [(other, ExpiresAt(db, other))], ct);
        await new PayloadRows(otherConnection, otherTransaction, otherSessions).InsertAsync([PayloadRow.Whole(other, ExpiresAt(db, other))], ct);

        // This batch's upsert starts (its snapshot without seq 7) and waits for the row; the other writer commits.
        var retry = Whole(db, "s", 7); // a client's retry: received later, so no unique violation would catch it
        await using var connection = await db.DataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var upsert = BatchSessions.UpsertAsync(connection, transaction, [(retry, ExpiresAt(db, retry)), (Whole(db, "s", 8), ExpiresAt(db, retry))], ct);
        await Eventually.TrueAsync(
            async () => await db.ScalarAsync<long>(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", ct) > 0,
            TimeSpan.FromSeconds(30), "a backend of the test's database waiting for a row lock", ct);
        await otherTransaction.CommitAsync(ct);
        var sessions = await upsert;

        Assert.False(sessions.TakeUnseenSeq(retry.Envelope)); // the snapshot's max_seq (0) is not what the row had (7)
        await transaction.RollbackAsync(ct);
        Assert.Equal([StoreOutcome.ClientRetry], (await db.StoreAsync([retry], ct)).Results.Select(r => r.Outcome));
    }

    [Fact]
    public async Task The_session_row_gets_one_new_version_per_transaction()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct, oneConnection: true);
        var start = await SessionWritesAsync(db, ct);

        // Two new sessions, rows by COPY (a and b) and by the small insert (b).
        await db.StoreAsync([.. Enumerable.Range(0, 10).Select(seq => Whole(db, "a", seq)), Whole(db, "b", 0), Whole(db, "b", 1)], ct);
        var first = await SessionWritesAsync(db, ct);
        // Both again: new seqs and a redelivery, which takes the checked path.
        await db.StoreAsync([.. Enumerable.Range(10, 10).Select(seq => Whole(db, "a", seq)), Whole(db, "b", 2), Whole(db, "b", 0)], ct);
        var second = await SessionWritesAsync(db, ct);

        Assert.Equal((2L, 0L), (first.Inserted - start.Inserted, first.Updated - start.Updated)); // the trigger's update: none
        Assert.Equal((0L, 2L), (second.Inserted - first.Inserted, second.Updated - first.Updated));
        Assert.Equal([("a", 19L), ("b", 2L)], await MaxSeqsAsync(db, ct));
    }

    private static IncomingPayload Whole(StoreDatabase db, string session, long seq)
    {
        var bytes = Bytes($"{session} {seq}");
        return db.Message(StoreDatabase.EnvelopeFor(session, seq, bytes), bytes);
    }

    private static DateTimeOffset ExpiresAt(StoreDatabase db, IncomingPayload payload) =>
        db.Retention.ExpiresAt(payload.Envelope.ProjectId, payload.Envelope.ReceivedAt);

    private static async Task<List<(string Session, long? MaxSeq)>> MaxSeqsAsync(StoreDatabase db, CancellationToken ct)
    {
        await using var command = db.DataSource.CreateCommand("SELECT session_id, max_seq FROM ingest.sessions ORDER BY session_id");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var sessions = new List<(string, long?)>();
        while (await reader.ReadAsync(ct))
        {
            sessions.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt64(1)));
        }

        return sessions;
    }

    /// <summary>
    /// Row versions written to <c>ingest.sessions</c> so far, by the database's one connection (<c>oneConnection</c>): its
    /// pending statistics are flushed first (<c>pg_stat_force_next_flush</c> takes effect when the statement ends), so the
    /// counts are exact, not eventual.
    /// </summary>
    private static async Task<(long Inserted, long Updated)> SessionWritesAsync(StoreDatabase db, CancellationToken ct)
    {
        await db.ExecuteAsync("SELECT pg_stat_force_next_flush()", ct);
        await using var command = db.DataSource.CreateCommand(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE schemaname = 'ingest' AND relname = 'sessions'");
        await using var reader = await command.ExecuteReaderAsync(ct);
        Assert.True(await reader.ReadAsync(ct));
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
