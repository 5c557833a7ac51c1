using Ingest.Api.Lifecycle;
using Ingest.Storage.Lifecycle;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Api.Tests.Lifecycle;

/// <summary>The in-memory tombstones: what they refuse, until when, and what a full load keeps.</summary>
public sealed class ErasedSessionsTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);

    [Fact]
    public void A_session_is_erased_until_its_keep_until_and_no_longer_at_it()
    {
        var erased = new ErasedSessions(_time);
        erased.Add(new ErasureTombstone("p1", "s1", Start + TimeSpan.FromHours(1)));

        Assert.True(erased.IsErased("p1", "s1"));
        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.True(erased.IsErased("p1", "s1"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(erased.IsErased("p1", "s1"));
    }

    [Fact]
    public void A_session_tombstone_is_its_projects_only()
    {
        var erased = new ErasedSessions(_time);
        erased.Add(new ErasureTombstone("p1", "s1", Start + TimeSpan.FromDays(1)));

        Assert.True(erased.IsErased("p1", "s1"));
        Assert.False(erased.IsErased("p2", "s1"));
        Assert.False(erased.IsErased("p1", "s2"));
        Assert.False(erased.IsProjectErased("p1"));
    }

    [Fact]
    public void A_project_tombstone_covers_every_session_of_the_project_until_its_keep_until()
    {
        var erased = new ErasedSessions(_time);
        erased.Add(new ErasureTombstone("p1", null, Start + TimeSpan.FromDays(1)));

        Assert.True(erased.IsErased("p1", "any-session"));
        Assert.True(erased.IsProjectErased("p1"));
        Assert.False(erased.IsErased("p2", "any-session"));
        _time.Advance(TimeSpan.FromDays(1));
        Assert.False(erased.IsErased("p1", "any-session"));
    }

    [Fact]
    public void A_repeated_tombstone_keeps_the_later_keep_until_and_counts_once()
    {
        var erased = new ErasedSessions(_time);
        erased.Add(new ErasureTombstone("p1", "s1", Start + TimeSpan.FromHours(2)));
        erased.Add(new ErasureTombstone("p1", "s1", Start + TimeSpan.FromHours(1)));

        _time.Advance(TimeSpan.FromMinutes(90));

        Assert.True(erased.IsErased("p1", "s1"));
        Assert.Equal(1, erased.Count);
    }

    [Fact]
    public async Task A_full_load_replaces_the_cache_and_leaves_expired_tombstones_out()
    {
        var ct = TestContext.Current.CancellationToken;
        var erased = new ErasedSessions(_time);
        erased.Add(new ErasureTombstone("p1", "gone-from-the-database", Start + TimeSpan.FromDays(1)));
        erased.Add(new ErasureTombstone("p1", "expiring", Start + TimeSpan.FromMinutes(1)));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(2, erased.Count); // the expired one is still held, though it no longer counts

        await erased.ReloadAsync(_ => Task.FromResult<List<ErasureTombstone>>(
            [new("p1", "s1", Start + TimeSpan.FromDays(1)), new("p1", "expired-since-the-query", Start)]), ct);

        Assert.Equal(1, erased.Count);
        Assert.True(erased.IsErased("p1", "s1"));
        Assert.False(erased.IsErased("p1", "gone-from-the-database"));
        Assert.False(erased.IsErased("p1", "expiring"));
    }

    [Fact]
    public async Task A_tombstone_added_while_a_full_load_runs_survives_the_load()
    {
        var ct = TestContext.Current.CancellationToken;
        var erased = new ErasedSessions(_time);
        var queried = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource<List<ErasureTombstone>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reload = erased.ReloadAsync(_ =>
        {
            queried.SetResult();
            return answer.Task;
        }, ct);
        await queried.Task;

        // Erased (here, or notified) after the load's snapshot was taken: the snapshot does not have it.
        erased.Add(new ErasureTombstone("p1", "erased-meanwhile", Start + TimeSpan.FromDays(1)));
        answer.SetResult([new("p1", "s1", Start + TimeSpan.FromDays(1))]);
        await reload;

        Assert.True(erased.IsErased("p1", "erased-meanwhile"));
        Assert.True(erased.IsErased("p1", "s1"));
        Assert.Equal(2, erased.Count);
    }

    [Fact]
    public async Task A_failed_load_leaves_the_cache_as_it_was()
    {
        var ct = TestContext.Current.CancellationToken;
        var erased = new ErasedSessions(_time);
        erased.Add(new ErasureTombstone("p1", "s1", Start + TimeSpan.FromDays(1)));

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            erased.ReloadAsync(_ => Task.FromException<List<ErasureTombstone>>(new InvalidOperationException("database down")), ct));

        Assert.True(erased.IsErased("p1", "s1"));
        erased.Add(new ErasureTombstone("p1", "s2", Start + TimeSpan.FromDays(1)));
        Assert.Equal(2, erased.Count);
    }

    [Theory]
    [InlineData("p1/s1", true, "p1", "s1")]
    [InlineData("p1/", true, "p1", null)]
    [InlineData("p1", false, null, null)]
    [InlineData("/s1", false, null, null)]
    [InlineData("p1/s1/x", false, null, null)]
    [InlineData("", false, null, null)]
    public void Notifications_name_a_project_and_a_session_or_a_whole_project(string payload, bool valid, string? project, string? session)
    {
        Assert.Equal(valid, SessionErasures.TryParseNotification(payload, out var parsedProject, out var parsedSession));
        if (valid)
        {
            Assert.Equal((project, session), (parsedProject, parsedSession));
            Assert.Equal(payload, SessionErasures.NotificationFor(parsedProject, parsedSession));
        }
    }
}
