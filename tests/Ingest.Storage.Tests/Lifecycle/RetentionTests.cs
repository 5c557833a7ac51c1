using System.Text;
using Ingest.Storage.Lifecycle;
using Ingest.Storage.Payloads;
using Ingest.Storage.Reading;
using Ingest.Storage.Tests.Payloads;
using Ingest.Testing;

namespace Ingest.Storage.Tests.Lifecycle;

/// <summary>Retention against a real Postgres: what is past it is not stored, not readable, removed, and its partitions dropped.</summary>
public sealed class RetentionTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_payload_received_longer_ago_than_its_retention_is_not_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct, retention: Policy(TimeSpan.FromDays(30), ("short", TimeSpan.FromMinutes(30))));
        var bytes = Encoding.UTF8.GetBytes("old");
        var old = StoreDatabase.EnvelopeFor("s", 0, bytes) with { ProjectId = "short", ReceivedAt = DateTimeOffset.UtcNow.AddHours(-1) };
        var kept = StoreDatabase.EnvelopeFor("s", 0, bytes) with { ReceivedAt = DateTimeOffset.UtcNow.AddHours(-1) };

        var stored = await db.StoreAsync([db.Message(old, bytes), db.Message(kept, bytes)], ct);

        Assert.Equal([StoreOutcome.Expired, StoreOutcome.Stored], stored.Results.Select(r => r.Outcome));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads", ct));
    }

    [Fact]
    public async Task Expired_payloads_stop_being_readable_are_removed_and_their_partitions_dropped_while_other_projects_keep_theirs()
    {
        var ct = TestContext.Current.CancellationToken;
        var policy = Policy(TimeSpan.FromSeconds(3), ("long", TimeSpan.FromSeconds(40)));
        await using var db = await StoreDatabase.CreateAsync(postgres, ct, retention: policy, partitionInterval: TimeSpan.FromSeconds(2));
        var reader = new SessionReader(db.DataSource, policy);
        var bytes = new byte[20_000];
        Random.Shared.NextBytes(bytes); // incompressible: the rows' space is what the partitions hold
        var batch = Enumerable.Range(0, 50).SelectMany(seq => new[]
        {
            db.Message(StoreDatabase.EnvelopeFor("s", seq, bytes), bytes),
            db.Message(StoreDatabase.EnvelopeFor("s", seq, bytes) with { ProjectId = "long" }, bytes),
        }).ToList();
        var storedAt = DateTimeOffset.UtcNow;
        Assert.All((await db.StoreAsync(batch, ct)).Results, r => Assert.Equal(StoreOutcome.Stored, r.Outcome));
        Assert.Equal(50, (await reader.GetSummaryAsync("p", "s", ct))!.PayloadCount);
        var held = await db.ScalarAsync<string[]>("SELECT array_agg(DISTINCT tableoid::regclass::text) FROM ingest.payloads WHERE project = 'p'", ct);
        var sizeBefore = await SizeAsync(db, held, ct);
        Assert.True(sizeBefore > 50 * 20_000, $"the short project's partitions hold {sizeBefore} bytes");

        // Each pass removes what expired; the wait polls passes, it does not sleep.
        var expired = 0L;
        await Eventually.TrueAsync(async () =>
        {
            expired += (await db.Maintenance.RunOnceAsync(ct)).Expired.Projects.GetValueOrDefault("p").Payloads;
            return expired == 50;
        }, TimeSpan.FromSeconds(30), "the 50 expired payloads removed", ct);
        var removedAfter = DateTimeOffset.UtcNow - storedAt;

        Assert.Null(await reader.GetSummaryAsync("p", "s", ct));
        Assert.Equal(50, (await reader.GetSummaryAsync("long", "s", ct))!.PayloadCount);
        Assert.Equal(50L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads", ct));
        Assert.True(removedAfter < TimeSpan.FromSeconds(3 + 10), $"removed {removedAfter} after storing, retention 3 s");

        // The partitions the short project's rows were in go once wholly expired: the space comes back.
        await Eventually.TrueAsync(async () =>
        {
            await db.Maintenance.RunOnceAsync(ct);
            return await SizeAsync(db, held, ct) == 0;
        }, TimeSpan.FromSeconds(30), "the partitions that held the expired payloads dropped", ct);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.partitions WHERE upper <= now() - interval '1 second'", ct));
        Assert.Equal(50, (await reader.GetSummaryAsync("long", "s", ct))!.PayloadCount);
    }

    [Fact]
    public async Task A_shortened_retention_applies_to_what_is_already_stored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var bytes = Encoding.UTF8.GetBytes("kept for 30 days, then for one hour");
        await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("s", 0, bytes) with { ReceivedAt = DateTimeOffset.UtcNow.AddHours(-2) }, bytes)], ct);

        var shorter = db.With(Policy(TimeSpan.FromHours(1)));
        Assert.Null(await new SessionReader(db.DataSource, shorter.Retention).GetSummaryAsync("p", "s", ct));
        var report = await shorter.Maintenance.RunOnceAsync(ct);

        Assert.Equal(1, report.Expired.Payloads);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads", ct));
    }

    [Fact]
    public async Task Positions_count_within_each_session_and_reveal_nothing_of_others()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var bytes = Encoding.UTF8.GetBytes("p");
        await db.StoreAsync([.. Enumerable.Range(0, 6).Select(i => db.Message(StoreDatabase.EnvelopeFor(i % 2 == 0 ? "a" : "b", i, bytes), bytes))], ct);
        await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("other", 0, bytes) with { ProjectId = "q" }, bytes)], ct);
        await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("a", 6, bytes), bytes)], ct);

        var rows = await db.RowsAsync(ct);
        Assert.Equal([1L, 2L, 3L, 4L], rows.Where(r => r.Session == "a").Select(r => r.Position));
        Assert.Equal([1L, 2L, 3L], rows.Where(r => r.Session == "b").Select(r => r.Position));
        Assert.Equal([1L], rows.Where(r => r.Session == "other").Select(r => r.Position));
    }

    [Fact]
    public async Task The_first_stored_wins_even_when_a_retry_lands_in_another_partition()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var first = Encoding.UTF8.GetBytes("first");
        await db.StoreAsync([db.Message(StoreDatabase.EnvelopeFor("s", 0, first), first)], ct);

        // A worker with a longer retention (a changed setting) writes the retry's row to a partition 10 days later.
        var longer = db.With(Policy(TimeSpan.FromDays(40)));
        var retry = await longer.StoreAsync([longer.Message(StoreDatabase.EnvelopeFor("s", 0, first), first)], ct);

        Assert.Equal(StoreOutcome.ClientRetry, Assert.Single(retry.Results).Outcome);
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.payloads", ct));
    }

    internal static RetentionPolicy Policy(TimeSpan defaultRetention, params (string Project, TimeSpan Retention)[] projects) =>
        new(defaultRetention, projects.ToDictionary(p => p.Project, p => p.Retention));

    /// <summary>The space <paramref name="tables"/> still take (0 once all are dropped).</summary>
    private static async Task<long> SizeAsync(StoreDatabase db, string[] tables, CancellationToken ct)
    {
        await using var command = db.DataSource.CreateCommand(
            "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) AS t");
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string[]> { TypedValue = tables });
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
