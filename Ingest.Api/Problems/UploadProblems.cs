namespace Ingest.Api.Problems;

/// <summary>How one <see cref="UploadOutcome"/> is answered: its problem (type, status, title) and whether a <c>Retry-After</c> goes with it.</summary>
public sealed record UploadProblem(ApiProblem Problem, bool RetryAfter);

/// <summary>The one table from upload outcome to answer, used by every endpoint that reports what became of an upload.</summary>
public static class UploadProblems
{
    public static UploadProblem For(UploadOutcome outcome) => outcome switch
    {
        UploadOutcome.EmptyBody => new(ApiProblem.EmptyBody, RetryAfter: false),
        UploadOutcome.PayloadTooLarge => new(ApiProblem.PayloadTooLarge, RetryAfter: false),
        UploadOutcome.Undecodable => new(ApiProblem.UndecodableBody, RetryAfter: false),
        UploadOutcome.Lz4BlockTooLarge => new(ApiProblem.Lz4BlockTooLarge, RetryAfter: false),
        UploadOutcome.IncompleteBody => new(ApiProblem.IncompleteBody, RetryAfter: false),
        UploadOutcome.UploadIdle => new(ApiProblem.UploadIdle, RetryAfter: false),
        UploadOutcome.ClientDisconnected => new(ApiProblem.ClientClosedRequest, RetryAfter: false),
        UploadOutcome.BudgetSpent => new(ApiProblem.BudgetSpent, RetryAfter: true),
        UploadOutcome.ShareSpent => new(ApiProblem.InflightShareSpent, RetryAfter: true),
        UploadOutcome.BudgetTimeout => new(ApiProblem.BudgetTimeout, RetryAfter: true),
        UploadOutcome.BacklogFull => new(ApiProblem.BacklogFull, RetryAfter: true),
        UploadOutcome.BacklogTimeout => new(ApiProblem.BacklogTimeout, RetryAfter: true),
        UploadOutcome.MessageTooLarge => new(ApiProblem.MessageTooLarge, RetryAfter: false),
        UploadOutcome.BrokerUnavailable => new(ApiProblem.BrokerUnavailable, RetryAfter: true),
        UploadOutcome.ShuttingDown => new(ApiProblem.ShuttingDown, RetryAfter: true),
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "An upload outcome without a problem."),
    };
}
