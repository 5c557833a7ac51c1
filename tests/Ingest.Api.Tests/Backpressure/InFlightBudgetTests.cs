using Ingest.Api.Auth;
using Ingest.Api.Backpressure;
using Ingest.Api.Payloads;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Tests.Backpressure;

/// <summary>The in-flight budget's shares: a project at its share never holds up another, and the whole budget stays first come first served.</summary>
public sealed class InFlightBudgetTests
{
    private const int Chunk = 1000;

    private static InFlightBudget Budget(long capacity, double share, params (string Project, double Share)[] overrides)
    {
        var ingest = new IngestOptions();
        foreach (var (project, projectShare) in overrides)
        {
            ingest.Projects[project] = new ProjectOptions { Limits = new() { BudgetShare = projectShare } };
        }

        var api = new ApiOptions { InFlightBudgetBytes = capacity, ChunkBytes = Chunk };
        api.ProjectLimits.BudgetShare = share;
        return new InFlightBudget(Options.Create(api), Options.Create(ingest));
    }

    [Fact]
    public void A_share_is_at_least_one_chunk_and_at_most_the_budget()
    {
        Assert.Equal(2500, InFlightBudget.ShareOf(0.25, 10_000, Chunk));
        Assert.Equal(Chunk, InFlightBudget.ShareOf(0.01, 10_000, Chunk));
        Assert.Equal(10_000, InFlightBudget.ShareOf(1, 10_000, Chunk));
        Assert.Equal(500, InFlightBudget.ShareOf(0.5, 500, Chunk));
    }

    [Fact]
    public void A_project_at_its_share_is_refused_while_another_takes_budget()
    {
        var budget = Budget(10_000, 0.3);
        var a = budget.For("a");
        var b = budget.For("b");

        Assert.Equal(3000, a.Cap);
        Assert.True(a.TryAcquire(3000));
        Assert.False(a.HasRoom(1));
        Assert.False(a.TryAcquire(1));
        Assert.True(b.HasRoom(3000));
        Assert.True(b.TryAcquire(3000));
        Assert.Equal(6000, budget.InFlight);
        Assert.Equal(3000, a.Used);
    }

    [Fact]
    public async Task Waiters_of_a_project_at_its_share_let_other_projects_pass_and_keep_their_own_order()
    {
        var budget = Budget(10_000, 0.3);
        var ct = TestContext.Current.CancellationToken;
        var a = budget.For("a");
        var b = budget.For("b");
        Assert.True(a.TryAcquire(3000));

        var a1 = a.AcquireAsync(1000, ct).AsTask();
        var a2 = a.AcquireAsync(500, ct).AsTask();
        Assert.False(a1.IsCompleted);

        // a waits on its own share only: b neither waits nor is refused.
        Assert.True(b.HasRoom(1000));
        await b.AcquireAsync(1000, ct);
        Assert.False(a2.IsCompleted);

        a.Release(1000); // room for a1 exactly; a2 must not overtake it
        await a1.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.False(a2.IsCompleted);
        a.Release(500);
        await a2.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal(3000, a.Used);
        Assert.Equal(4000, budget.InFlight);
    }

    [Fact]
    public async Task When_the_whole_budget_is_short_new_requests_do_not_overtake_a_waiter()
    {
        // Four projects at a share of 0.3 can fill the whole budget.
        var budget = Budget(10_000, 0.3);
        var ct = TestContext.Current.CancellationToken;
        var a = budget.For("a");
        var b = budget.For("b");
        var c = budget.For("c");
        var d = budget.For("d");
        Assert.True(a.TryAcquire(3000));
        Assert.True(b.TryAcquire(3000));
        Assert.True(c.TryAcquire(3000));
        Assert.True(d.TryAcquire(1000));

        var waiting = d.AcquireAsync(1500, ct).AsTask(); // fits d's share, not the budget
        Assert.False(waiting.IsCompleted);
        Assert.False(budget.For("e").HasRoom(1)); // behind d's waiter, though 1 byte would fit
        Assert.False(budget.For("e").TryAcquire(1));

        a.Release(1000);
        Assert.False(waiting.IsCompleted); // 9,000 + 1,500 is still over the budget
        a.Release(1000);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal(2500, d.Used);
        Assert.Equal(9500, budget.InFlight);
    }

    [Fact]
    public async Task A_waiter_that_gives_up_lets_the_next_one_in_and_returns_what_it_was_granted()
    {
        var budget = Budget(4000, 1);
        var a = budget.For("a");
        Assert.True(a.TryAcquire(4000));
        using var cancel = new CancellationTokenSource();
        var giving = a.AcquireAsync(3000, cancel.Token).AsTask();
        var next = a.AcquireAsync(1000, TestContext.Current.CancellationToken).AsTask();
        a.Release(1000);
        Assert.False(next.IsCompleted); // behind the first waiter
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => giving);
        await next.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal(4000, budget.InFlight);
    }

    [Theory]
    [InlineData(1, 10_000)]
    [InlineData(2, 5_000)]
    [InlineData(3, 3_334)]
    [InlineData(4, 2_500)]
    [InlineData(9, 2_500)]
    public void Without_a_configured_share_each_project_gets_one_over_the_number_of_projects_at_least_a_quarter(int projects, long cap)
    {
        var ingest = new IngestOptions();
        for (var i = 0; i < projects; i++)
        {
            ingest.Projects[$"p{i}"] = new ProjectOptions();
        }

        var budget = new InFlightBudget(Options.Create(new ApiOptions { InFlightBudgetBytes = 10_000, ChunkBytes = Chunk }), Options.Create(ingest));
        Assert.Equal(cap, budget.For("p0").Cap);
    }

    [Fact]
    public void A_project_override_sets_its_own_share()
    {
        var budget = Budget(10_000, 0.25, ("big", 0.8));
        Assert.Equal(8000, budget.For("big").Cap);
        Assert.Equal(2500, budget.For("small").Cap);
    }
}
