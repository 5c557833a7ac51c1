using Ingest.Storage.Lifecycle;
using Ingest.Testing;

namespace Ingest.Storage.Tests.Lifecycle;

/// <summary>The on-call view of retention and erasure, against rows whose numbers are known.</summary>
public sealed class LifecycleStatusTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Read_reports_each_projects_oldest_payload_sessions_and_erasures()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await db.InsertAsync("a", "s1", 3, ct);
        await db.InsertAsync("a", "s2", 1, ct);
        await db.ExecuteAsync("UPDATE ingest.payloads SET received_at = now() - interval '2 days' WHERE project = 'a' AND session_id = 's1' AND seq = 0", ct);
        await db.InsertAsync("b", "live", 1, ct);
        await db.InsertAsync("b", "erased", 1, ct);
        await db.InsertAsync("b", "purged", 1, ct);
        await db.ExecuteAsync("UPDATE ingest.sessions SET erased_at = now() - interval '5 minutes' WHERE project = 'b' AND session_id = 'erased'", ct);
        await db.ExecuteAsync("UPDATE ingest.sessions SET erased_at = now() - interval '1 hour', purged_at = now() WHERE project = 'b' AND session_id = 'purged'", ct);
        var erasure = await new ProjectErasures(db.DataSource).EraseAsync("c", TimeSpan.FromDays(1), ct);

        var status = await new LifecycleStatus(db.DataSource).ReadAsync(["configured", "a"], ct);

        Assert.Equal(["a", "b", "c", "configured"], status.Projects.Select(p => p.Project));
        var a = status.Projects[0];
        var oldestA = await db.TimeAsync("SELECT min(received_at) FROM ingest.payloads WHERE project = 'a'", ct);
        Assert.Equal((oldestA, 2L, 0L, null, null), (a.OldestReceivedAt, a.Sessions, a.ErasedSessionsUnpurged, a.OldestUnpurgedErasureAt, a.Erased));
        Assert.Equal(status.At - oldestA, a.OldestAge);
        Assert.InRange(a.OldestAge!.Value, TimeSpan.FromDays(2), TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        var b = status.Projects[1];
        Assert.Equal((3L, 1L), (b.Sessions, b.ErasedSessionsUnpurged));
        Assert.Equal(await db.TimeAsync("SELECT erased_at FROM ingest.sessions WHERE session_id = 'erased'", ct), b.OldestUnpurgedErasureAt);
        Assert.Null(b.Erased);
        var c = status.Projects[2];
        Assert.Equal((null, null, 0L, 0L), (c.OldestReceivedAt, c.OldestAge, c.Sessions, c.ErasedSessionsUnpurged));
        Assert.Equal(new ErasedProject("c", erasure.ErasedAt, erasure.KeepUntil, null), c.Erased);
        var configured = status.Projects[3];
        Assert.Equal((null, 0L, null), (configured.OldestReceivedAt, configured.Sessions, configured.Erased));
    }

    [Fact]
    public async Task Read_reports_the_partitions_of_each_expiring_table_and_the_pending_uploads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await db.InsertAsync("a", "s1", 2, ct);
        // A partition whose whole range expired long ago: the maintenance pass has not dropped it yet.
        await db.ExecuteAsync(
            """
            CREATE TABLE ingest.payloads_old PARTITION OF ingest.payloads FOR VALUES FROM ('2000-01-01Z') TO ('2000-01-02Z');
            INSERT INTO ingest.partitions (parent, name, lower, upper) VALUES ('payloads', 'payloads_old', '2000-01-01Z', '2000-01-02Z');
            """, ct);
        await db.InsertPendingUploadAsync("a", "s2", "1 day", ct);
        await db.InsertPendingUploadAsync("a", "s3", "-1 minute", ct);
        await db.InsertPendingUploadAsync("a", "s4", "-1 hour", ct);

        var status = await new LifecycleStatus(db.DataSource).ReadAsync([], ct);

        Assert.Equal(["payloads", "payload_chunks"], status.Tables.Select(t => t.Table));
        var payloads = status.Tables[0];
        Assert.Equal((int)await db.ScalarAsync<long>("SELECT count(*) FROM ingest.partitions WHERE parent = 'payloads'", ct), payloads.Partitions);
        Assert.True(payloads.Partitions > 30, $"{payloads.Partitions} partitions");
        Assert.Equal(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), payloads.LowestBound);
        Assert.Equal(await db.TimeAsync("SELECT max(upper) FROM ingest.partitions WHERE parent = 'payloads'", ct), payloads.HighestBound);
        Assert.Equal(1, payloads.ExpiredPartitions);
        var holding = await db.ScalarAsync<long>("SELECT pg_total_relation_size(min(tableoid::regclass::text)) FROM ingest.payloads", ct);
        Assert.True(payloads.TotalBytes > holding && holding > 0, $"{payloads.TotalBytes} bytes in all, {holding} in the one holding the rows");
        Assert.Equal(new ExpiringTable("payload_chunks", 0, null, null, 0, 0), status.Tables[1]);
        Assert.Equal((3L, 2L), (status.PendingUploads, status.PendingUploadsExpired));
    }

    [Fact]
    public async Task A_store_an_older_worker_created_has_no_lifecycle_schema()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var old = await LifecycleDatabase.CreateAsync(postgres, ct, upToVersion: LifecycleStatus.SchemaVersion - 1);
        await using var current = await LifecycleDatabase.CreateAsync(postgres, ct);

        Assert.False(await LifecycleStatus.HasSchemaAsync(old.DataSource, ct));
        Assert.True(await LifecycleStatus.HasSchemaAsync(current.DataSource, ct));
    }
}
