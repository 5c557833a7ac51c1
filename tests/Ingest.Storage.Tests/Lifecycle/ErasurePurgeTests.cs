using System.Text;
using Ingest.Contracts.Chunking;
using Ingest.Storage.Payloads;
using Ingest.Storage.Reading;
using Ingest.Storage.Tests.Payloads;
using Ingest.Testing;

namespace Ingest.Storage.Tests.Lifecycle;

/// <summary>
/// Erasure as the writer and the maintenance pass see it: once a session's (or project's) erasure is recorded, nothing more
/// of it is stored, nothing of it is readable, and a pass removes its rows, staged chunks and pending uploads.
/// </summary>
public sealed class ErasurePurgeTests(PostgresFixture postgres)
{
    [Fact]
    public async Task An_erased_session_keeps_nothing_and_takes_nothing_more_while_its_neighbours_are_untouched()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var bytes = Encoding.UTF8.GetBytes(new string('e', 3000));
        await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("gone", 0, bytes), bytes), db.Message(StoreDatabase.EnvelopeFor("kept", 0, bytes), bytes)], ct);
        // A chunked upload of the session, half staged: chunk 0 of 2.
        var big = Encoding.UTF8.GetBytes(new string('c', 8192));
        var chunks = ChunkSequenceWriter.Split(StoreDatabase.EnvelopeFor("gone", 1, big), big, 4096).Select(c => db.Message(c.Envelope, c.Data.ToArray())).ToList();
        Assert.Equal(StoreOutcome.ChunkStaged, Assert.Single((await db.StoreAsync([chunks[0]], ct)).Results).Outcome);

        await db.ExecuteAsync("UPDATE ingest.sessions SET erased_at = now() WHERE project = 'p' AND session_id = 'gone'", ct);
        var reader = new SessionReader(db.DataSource, db.Retention);
        Assert.Null(await reader.GetSummaryAsync("p", "gone", ct));

        // Still in Kafka when the erasure came: the rest of the upload and a later payload.
        var late = await db.StoreAsync([chunks[1], db.Message(StoreDatabase.EnvelopeFor("gone", 2, bytes), bytes)], ct);
        Assert.Equal([StoreOutcome.Erased, StoreOutcome.Erased], late.Results.Select(r => r.Outcome));

        var report = await db.Maintenance.RunOnceAsync(ct);

        Assert.Equal(1, report.Erased.Payloads);
        Assert.Equal(1, report.PendingUploadsRemoved);
        Assert.Equal(["kept"], (await db.RowsAsync(ct)).Select(r => r.Session));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payload_chunks", ct));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.pending_uploads", ct));
        Assert.True(await db.ScalarAsync<bool>("SELECT purged_at IS NOT NULL FROM ingest.sessions WHERE session_id = 'gone'", ct));
        Assert.Equal(1, (await reader.GetSummaryAsync("p", "kept", ct))!.PayloadCount);
    }

    [Fact]
    public async Task An_erased_project_is_removed_whole_and_stays_empty()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var bytes = Encoding.UTF8.GetBytes("x");
        await db.StoreAsync(
            [.. Enumerable.Range(0, 20).Select(i => db.Message(StoreDatabase.EnvelopeFor($"s{i % 4}", i, bytes), bytes)),
             db.Message(StoreDatabase.EnvelopeFor("s0", 0, bytes) with { ProjectId = "other" }, bytes)],
            ct);

        await db.ExecuteAsync("INSERT INTO ingest.erased_projects (project, keep_until) VALUES ('p', now() + interval '1 day')", ct);
        var late = await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("new-session", 0, bytes), bytes)], ct);
        var report = await db.Maintenance.RunOnceAsync(ct);

        Assert.Equal(StoreOutcome.Erased, Assert.Single(late.Results).Outcome);
        Assert.Equal(20, report.Erased.Payloads);
        Assert.Equal(["other"], (await db.RowsAsync(ct)).Select(r => r.Session == "s0" ? "other" : r.Session).Distinct());
        Assert.Null(await new SessionReader(db.DataSource, db.Retention).GetSummaryAsync("p", "s1", ct));
    }
}
