using System.Text;
using Ingest.Storage.Payloads;
using Ingest.Testing;
using Npgsql;

namespace Ingest.Storage.Tests.Payloads;

/// <summary>The one write path for payload rows, against a real Postgres: first stored wins, applied order, poison, size.</summary>
public sealed class PayloadStoreTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Duplicates_in_one_batch_keep_the_first_and_are_told_apart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var first = Bytes("first");
        var envelope = StoreDatabase.EnvelopeFor("s", 0, first);
        var other = Bytes("other");

        var stored = await db.StoreAsync(
        [
            db.Message(envelope, first),
            db.Message(envelope, first), // the same upload again: a redelivery
            db.Message(StoreDatabase.EnvelopeFor("s", 0, first), first), // a new upload of the same bytes: a client retry
            db.Message(StoreDatabase.EnvelopeFor("s", 0, other), other), // different bytes under the same seq
            db.Message(StoreDatabase.EnvelopeFor("s", 1, other), other),
        ], ct);

        Assert.Equal(
            [StoreOutcome.Stored, StoreOutcome.Redelivery, StoreOutcome.ClientRetry, StoreOutcome.ConflictingDuplicate, StoreOutcome.Stored],
            stored.Results.Select(r => r.Outcome));
        var rows = await db.RowsAsync(ct);
        Assert.Equal([("s", 0L, 0L), ("s", 1L, 4L)], rows.Select(r => (r.Session, r.Seq, r.Offset)));
        Assert.Equal(envelope.PayloadId, rows[0].PayloadId);
        Assert.Equal(first, rows[0].Bytes);
    }

    [Fact]
    public async Task A_duplicate_of_an_earlier_batch_does_not_replace_what_is_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var first = Bytes("first");
        var envelope = StoreDatabase.EnvelopeFor("s", 0, first);
        await db.StoreAsync([db.Message(envelope, first)], ct);

        var other = Bytes("other");
        var again = await db.StoreAsync(
            [db.Message(StoreDatabase.EnvelopeFor("s", 0, other), other), db.Message(envelope, first), db.Message(StoreDatabase.EnvelopeFor("s", 0, first), first)],
            ct);

        Assert.Equal([StoreOutcome.ConflictingDuplicate, StoreOutcome.Redelivery, StoreOutcome.ClientRetry], again.Results.Select(r => r.Outcome));
        var row = Assert.Single(await db.RowsAsync(ct));
        Assert.Equal((envelope.PayloadId, 0L), (row.PayloadId, row.Offset));
        Assert.Equal(first, row.Bytes);
    }

    [Fact]
    public async Task A_row_another_writer_stored_is_found_by_a_later_retry_in_another_partition()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("s", 0, Bytes("zero")), Bytes("zero"))], ct);
        // Seq 7 stored by a writer that knows nothing of sessions.max_seq (an older worker during an upgrade: it takes a
        // position and widens the session's expiry range, nothing else), expiring a day later than a retry received now
        // would: the retry's key differs from it in expires_at, so only the look-up can find it, and the look-up is
        // skipped for seqs above the session's max_seq — which the table's trigger raised.
        var first = Bytes("first");
        var envelope = StoreDatabase.EnvelopeFor("s", 7, first);
        await using (var command = db.DataSource.CreateCommand(
            """
            WITH s AS (
                UPDATE ingest.sessions SET next_position = next_position + 1, max_expires_at = now() + interval '31 days',
                                           keep_until = now() + interval '31 days'
                WHERE project = 'p' AND session_id = 's' RETURNING next_position)
            INSERT INTO ingest.payloads (project, session_id, seq, position, payload_id, content_type, length, checksum, encoding, body,
                                         kafka_partition, kafka_offset, received_at, chunk_count, expires_at)
            SELECT 'p', 's', 7, s.next_position, $1, 'application/json', $2, $3, 'lz4', $4, 0, 99, now(), 1, now() + interval '31 days' FROM s
            """))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = envelope.PayloadId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = envelope.Length });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = unchecked((long)envelope.Checksum) });
            command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Ingest.Contracts.Codec.PayloadCodec.Encode(first) });
            await command.ExecuteNonQueryAsync(ct);
        }

        var retry = await db.StoreAsync(
            [db.Message(StoreDatabase.EnvelopeFor("s", 7, first), first), db.Message(StoreDatabase.EnvelopeFor("s", 8, first), first)], ct);

        Assert.Equal([StoreOutcome.ClientRetry, StoreOutcome.Stored], retry.Results.Select(r => r.Outcome));
        Assert.Equal([(0L, 0L), (7L, 99L), (8L, 2L)], (await db.RowsAsync(ct)).Select(r => (r.Seq, r.Offset)).Order());
    }

    [Fact]
    public async Task Rows_taken_for_new_that_are_stored_already_are_found_when_the_batch_is_written_again_with_checks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        // Enough unseen rows for the COPY path (PayloadRows.CopyThreshold), stored once.
        var messages = Enumerable.Range(0, PayloadRows.CopyThreshold + 2)
            .Select(seq => (Envelope: StoreDatabase.EnvelopeFor("s", seq, Bytes($"payload {seq}")), Body: Bytes($"payload {seq}")))
            .ToList();
        var first = await db.StoreAsync([.. messages.Select(m => db.Message(m.Envelope, m.Body))], ct);
        Assert.All(first.Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        // The rule broken: the session's max_seq forgotten (as if its row were recreated under rows that outlived it), so
        // the redelivered rows are all taken for new and the COPY meets the stored ones.
        await db.ExecuteAsync("UPDATE ingest.sessions SET max_seq = NULL", ct);

        var again = await db.StoreAsync([.. messages.Select(m => db.Message(m.Envelope, m.Body))], ct);

        Assert.All(again.Results, r => Assert.Equal(StoreOutcome.Redelivery, r.Outcome));
        var rows = await db.RowsAsync(ct);
        Assert.Equal(messages.Select((m, i) => ((long)i, (long)i, m.Envelope.PayloadId)), rows.Select(r => (r.Seq, r.Offset, r.PayloadId)));
    }

    [Fact]
    public async Task Positions_follow_the_order_of_the_batch_and_of_the_batches()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        // Sessions interleaved, and seqs of one session not in seq order: position is applied order, nothing else.
        var seqs = new long[] { 5, 3, 9, 0, 7, 1, 8, 2, 6, 4 };
        for (var batch = 0; batch < 2; batch++)
        {
            var messages = new List<IncomingPayload>();
            foreach (var seq in seqs)
            {
                foreach (var session in new[] { "b", "a", "c" })
                {
                    var bytes = Bytes($"{session} {seq} {batch}");
                    messages.Add(db.Message(StoreDatabase.EnvelopeFor(session, seq + (batch * 10), bytes), bytes));
                }
            }

            Assert.All((await db.StoreAsync(messages, ct)).Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        }

        var rows = await db.RowsAsync(ct);
        Assert.Equal(60, rows.Count);
        Assert.Equal(Enumerable.Range(0, 60).Select(i => (long)i), rows.Select(r => r.Offset)); // in position order = offset order
    }

    [Fact]
    public async Task A_row_the_table_refuses_fails_its_batch_as_a_data_error_and_the_rest_store_without_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        await db.ExecuteAsync("ALTER TABLE ingest.payloads ADD CONSTRAINT no_seq_3 CHECK (seq <> 3)", ct);
        var messages = Enumerable.Range(0, 20).Select(seq =>
        {
            var bytes = Bytes($"s {seq}");
            return db.Message(StoreDatabase.EnvelopeFor("s", seq, bytes), bytes);
        }).ToList();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => db.StoreAsync(messages, ct));
        Assert.Equal(StoreErrorKind.Data, PostgresErrors.Classify(refused));
        Assert.Contains("no_seq_3", refused.Message, StringComparison.Ordinal);
        Assert.Empty(await db.RowsAsync(ct)); // the batch's transaction left nothing

        // What the worker's bisect does: the halves again, the poison alone.
        await Assert.ThrowsAsync<PostgresException>(() => db.StoreAsync(messages[..10], ct));
        Assert.All((await db.StoreAsync(messages[..3], ct)).Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        await Assert.ThrowsAsync<PostgresException>(() => db.StoreAsync([messages[3]], ct));
        Assert.All((await db.StoreAsync(messages[4..], ct)).Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        Assert.Equal(Enumerable.Range(0, 20).Where(i => i != 3).Select(i => (long)i), (await db.RowsAsync(ct)).Select(r => r.Seq));
    }

    [Fact]
    public async Task After_a_refused_batch_the_same_connection_stores_the_next_one()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct, oneConnection: true);
        await db.ExecuteAsync("ALTER TABLE ingest.payloads ADD CONSTRAINT no_seq_1 CHECK (seq <> 1)", ct);
        var messages = Enumerable.Range(0, 4).Select(seq =>
        {
            var bytes = Bytes($"s {seq}");
            return db.Message(StoreDatabase.EnvelopeFor("s", seq, bytes), bytes);
        }).ToList();

        await db.StoreAsync([messages[0]], ct);
        await Assert.ThrowsAsync<PostgresException>(() => db.StoreAsync([messages[2], messages[1]], ct)); // rolled back
        var after = await db.StoreAsync([messages[2], messages[3]], ct);

        Assert.Equal([StoreOutcome.Stored, StoreOutcome.Stored], after.Results.Select(r => r.Outcome));
        Assert.Equal([(0L, 0L), (2L, 2L), (3L, 3L)], (await db.RowsAsync(ct)).Select(r => (r.Seq, r.Offset)));
    }

    [Fact]
    public async Task Large_bodies_are_stored_byte_for_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var random = new Random(7);
        var sizes = new[] { 16 * 1024 * 1024, 10_000, 1, 3 * 1024 * 1024 };
        var sent = sizes.Select((size, seq) =>
        {
            var bytes = new byte[size];
            random.NextBytes(bytes); // incompressible: the encoded block is as large as the payload
            return (Seq: (long)seq, Bytes: bytes);
        }).ToList();

        var stored = await db.StoreAsync([.. sent.Select(s => db.Message(StoreDatabase.EnvelopeFor("big", s.Seq, s.Bytes), s.Bytes))], ct);

        Assert.All(stored.Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        var rows = await db.RowsAsync(ct);
        Assert.Equal(sent.Select(s => s.Seq), rows.Select(r => r.Seq));
        foreach (var (row, (_, bytes)) in rows.Zip(sent))
        {
            Assert.Equal(bytes, row.Bytes);
        }
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
