using Ingest.Storage.Lifecycle;
using Ingest.Testing;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Storage.Tests.Lifecycle;

/// <summary>Erasing a whole project, as the ops command records it, against a real Postgres.</summary>
public sealed class ProjectErasuresTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    [Fact]
    public async Task Erase_records_the_project_marks_each_of_its_sessions_and_leaves_other_projects_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await db.InsertAsync("gone", "s1", 2, ct);
        await db.InsertAsync("gone", "s2", 1, ct);
        await db.InsertAsync("kept", "s1", 1, ct);

        var erasure = await new ProjectErasures(db.DataSource).EraseAsync("gone", Retention, ct);

        Assert.Equal(("gone", false, 2, 0), (erasure.Project, erasure.AlreadyErased, erasure.SessionsMarked, erasure.SessionsAlreadyErased));
        Assert.Equal(Retention, erasure.KeepUntil - erasure.ErasedAt);
        var listed = Assert.Single(await new ProjectErasures(db.DataSource).ListAsync(ct));
        Assert.Equal(new ErasedProject("gone", erasure.ErasedAt, erasure.KeepUntil, null), listed);
        Assert.Equal(2L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM ingest.sessions WHERE project = 'gone' AND erased_at IS NOT NULL AND purged_at IS NULL "
            + "AND keep_until >= now() + interval '7 days'", ct));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM ingest.sessions WHERE project = 'kept' AND erased_at IS NULL", ct));
        Assert.Equal(4L, await db.Rows.CountAsync(ct)); // removal is the workers' maintenance pass, not the erasure's
    }

    [Fact]
    public async Task Erasing_again_keeps_the_first_erasure_time_and_only_extends_keep_until()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await db.InsertAsync("gone", "s1", 1, ct);
        var erasures = new ProjectErasures(db.DataSource);
        var first = await erasures.EraseAsync("gone", Retention, ct);
        var sessionErasedAt = await db.TimeAsync("SELECT erased_at FROM ingest.sessions WHERE project = 'gone'", ct);

        var shorter = await erasures.EraseAsync("gone", TimeSpan.FromHours(1), ct);
        var longer = await erasures.EraseAsync("gone", TimeSpan.FromDays(30), ct);

        Assert.Equal((first.ErasedAt, first.KeepUntil, true, 0, 1),
            (shorter.ErasedAt, shorter.KeepUntil, shorter.AlreadyErased, shorter.SessionsMarked, shorter.SessionsAlreadyErased));
        Assert.Equal(first.ErasedAt, longer.ErasedAt);
        Assert.True(longer.KeepUntil >= first.ErasedAt + TimeSpan.FromDays(30), $"keep_until {longer.KeepUntil:O}");
        Assert.Equal(sessionErasedAt, await db.TimeAsync("SELECT erased_at FROM ingest.sessions WHERE project = 'gone'", ct));
        Assert.Equal(longer.KeepUntil, await db.TimeAsync("SELECT keep_until FROM ingest.sessions WHERE project = 'gone'", ct));
        Assert.Single(await erasures.ListAsync(ct));
    }

    [Fact]
    public async Task A_session_erased_before_the_project_keeps_its_erasure_time_and_is_counted_as_already_erased()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await db.InsertAsync("gone", "early", 1, ct);
        await db.InsertAsync("gone", "late", 1, ct);
        await db.ExecuteAsync("UPDATE ingest.sessions SET erased_at = now() - interval '1 hour' WHERE session_id = 'early'", ct);

        var erasure = await new ProjectErasures(db.DataSource).EraseAsync("gone", Retention, ct);

        Assert.Equal((1, 1), (erasure.SessionsMarked, erasure.SessionsAlreadyErased));
        Assert.True(await db.ScalarAsync<bool>(
            "SELECT erased_at < now() - interval '59 minutes' FROM ingest.sessions WHERE session_id = 'early'", ct));
    }

    [Fact]
    public async Task Erase_announces_the_project_on_the_erasures_channel_once_committed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await using var listener = await db.DataSource.OpenConnectionAsync(ct);
        var received = new TaskCompletionSource<(string Channel, string Payload)>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Notification += (_, e) => received.TrySetResult((e.Channel, e.Payload));
        await using (var listen = new NpgsqlCommand($"LISTEN {SessionErasures.Channel}", listener))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }

        await new ProjectErasures(db.DataSource).EraseAsync("gone", Retention, ct);
        await listener.WaitAsync(TimeSpan.FromSeconds(10), ct);

        Assert.True(received.Task.IsCompleted, "no notification within 10 s");
        Assert.Equal(("ingest_erasures", "gone/"), await received.Task);
    }

    [Fact]
    public async Task After_the_erasure_a_maintenance_pass_removes_what_was_stored_of_the_project_and_records_the_purge()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await LifecycleDatabase.CreateAsync(postgres, ct);
        await db.InsertAsync("gone", "s1", 3, ct);
        await db.InsertAsync("kept", "s1", 2, ct);
        await db.InsertPendingUploadAsync("gone", "s2", "1 day", ct);
        var retention = new RetentionPolicy(TimeSpan.FromDays(30), new Dictionary<string, TimeSpan>());
        var erasures = new ProjectErasures(db.DataSource);
        await erasures.EraseAsync("gone", retention.For("gone"), ct);

        var partitions = new Partitions(db.DataSource, Options.Create(new LifecycleOptions()), retention, TimeProvider.System);
        var report = await new Maintenance(db.DataSource, partitions, retention, Options.Create(new LifecycleOptions()), TimeProvider.System).RunOnceAsync(ct);

        Assert.Equal(3, report.Erased.Payloads);
        Assert.Equal(1, report.PendingUploadsRemoved);
        Assert.Equal(["kept", "kept"], (await db.Rows.AllAsync(ct)).Select(r => r.Project));
        Assert.NotNull(Assert.Single(await erasures.ListAsync(ct)).PurgedAt);
        var status = await new LifecycleStatus(db.DataSource).ReadAsync([], ct);
        var gone = Assert.Single(status.Projects, p => p.Project == "gone");
        Assert.Equal((null, 0L), (gone.OldestReceivedAt, gone.ErasedSessionsUnpurged));
    }
}
