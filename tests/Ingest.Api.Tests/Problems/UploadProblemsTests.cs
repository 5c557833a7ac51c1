using Ingest.Api.Problems;

namespace Ingest.Api.Tests.Problems;

/// <summary>The one table from upload outcome to answer: complete, and the answers the contract promises.</summary>
public sealed class UploadProblemsTests
{
    public static TheoryData<UploadOutcome> Outcomes => [.. Enum.GetValues<UploadOutcome>()];

    [Theory]
    [MemberData(nameof(Outcomes))]
    public void Every_outcome_has_a_problem_and_retry_after_exactly_when_it_is_a_429_or_503(UploadOutcome outcome)
    {
        var (problem, retryAfter) = UploadProblems.For(outcome);

        Assert.StartsWith("urn:ingest:problem:", problem.Type, StringComparison.Ordinal);
        Assert.Equal(problem.Status is 429 or 503, retryAfter);
    }

    [Fact]
    public void No_two_outcomes_share_a_problem()
    {
        var problems = Enum.GetValues<UploadOutcome>().Select(o => UploadProblems.For(o).Problem.Slug).ToList();

        Assert.Equal(problems.Count, problems.Distinct().Count());
    }

    [Fact]
    public void Each_outcome_is_answered_as_the_contract_says()
    {
        var expected = new Dictionary<UploadOutcome, (string Slug, int Status)>
        {
            [UploadOutcome.EmptyBody] = ("empty-body", 400),
            [UploadOutcome.PayloadTooLarge] = ("payload-too-large", 413),
            [UploadOutcome.Undecodable] = ("undecodable-body", 400),
            [UploadOutcome.Lz4BlockTooLarge] = ("lz4-block-too-large", 400),
            [UploadOutcome.IncompleteBody] = ("incomplete-body", 400),
            [UploadOutcome.UploadIdle] = ("upload-idle", 408),
            [UploadOutcome.ClientDisconnected] = ("client-disconnected", 499),
            [UploadOutcome.BudgetSpent] = ("inflight-budget-spent", 429),
            [UploadOutcome.ShareSpent] = ("inflight-share-spent", 429),
            [UploadOutcome.BudgetTimeout] = ("inflight-budget-timeout", 503),
            [UploadOutcome.BacklogFull] = ("backlog-full", 503),
            [UploadOutcome.BacklogTimeout] = ("backlog-timeout", 503),
            [UploadOutcome.MessageTooLarge] = ("message-too-large", 413),
            [UploadOutcome.BrokerUnavailable] = ("broker-unavailable", 503),
            [UploadOutcome.ShuttingDown] = ("shutting-down", 503),
        };

        Assert.Equal(Enum.GetValues<UploadOutcome>().Order(), expected.Keys.Order());
        foreach (var (outcome, answer) in expected)
        {
            var problem = UploadProblems.For(outcome).Problem;
            Assert.Equal(answer, (problem.Slug, problem.Status));
        }
    }

    [Fact]
    public void A_value_outside_the_enum_has_no_problem() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => UploadProblems.For((UploadOutcome)999));
}
