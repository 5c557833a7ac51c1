using Ingest.Api.Backpressure;
using Ingest.Api.Problems;

namespace Ingest.Api.Payloads;

/// <summary>What became of one upload: <see cref="Delivered"/>, or an <see cref="UploadFailure"/>.</summary>
public abstract record PublishResult
{
    /// <summary>Every chunk acknowledged by all in-sync replicas; partition/offset of the last chunk.</summary>
    public sealed record Delivered(long Bytes, int Chunks, int Partition, long Offset) : PublishResult;
}

/// <summary>
/// An upload not accepted, classified where it happened (<see cref="UploadOutcome"/>), with the problem's detail phrased
/// there too, where the limit or timeout it names is known. <see cref="UploadProblems"/> turns it into the answer. Its last
/// chunk was never produced, except for <see cref="UploadOutcome.BrokerUnavailable"/> (it may or may not be stored).
/// </summary>
public sealed record UploadFailure(UploadOutcome Outcome, string Detail) : PublishResult
{
    /// <summary>The request part at fault (the problem's <c>field</c>), if any.</summary>
    public string? Field { get; init; }

    /// <summary>Further members of the problem document.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Extensions { get; init; } = [];

    /// <summary>The underlying error (decoder, Kestrel or Kafka), for the log.</summary>
    public string? Reason { get; init; }

    /// <summary>The status Kestrel chose when it refused the body itself; null: the problem's own.</summary>
    public int? Status { get; init; }

    /// <summary>The publish span's <c>error.type</c>.</summary>
    public required string ErrorType { get; init; }

    public static UploadFailure Empty() => new(UploadOutcome.EmptyBody, "The payload is empty.") { Field = "body", ErrorType = "Empty" };

    public static UploadFailure TooLarge(long limit) => new(UploadOutcome.PayloadTooLarge, $"Payloads are limited to {limit} bytes after decoding.")
    {
        Field = "body", Extensions = [new("limit", limit)], ErrorType = "TooLarge",
    };

    public static UploadFailure Undecodable(ContentCoding coding, string error) =>
        new(UploadOutcome.Undecodable, $"The body is not valid {coding} data: {error}") { Field = "body", Reason = error, ErrorType = "Undecodable" };

    public static UploadFailure BlockTooLarge(string error) => new(UploadOutcome.Lz4BlockTooLarge, $"The body is not accepted: {error}")
    {
        Field = "body", Extensions = [new("maxBlockBytes", Lz4FrameGuard.MaxBlockBytes)], Reason = error, ErrorType = "BlockTooLarge",
    };

    public static UploadFailure Incomplete(int status, string reason) =>
        new(UploadOutcome.IncompleteBody, reason) { Field = "body", Status = status, Reason = reason, ErrorType = "bad_body" };

    public static UploadFailure Idle(TimeSpan timeout) => new(
        UploadOutcome.UploadIdle, $"Nothing of the body came for {timeout} (Api:UploadIdleTimeout). It was not stored: retry the same seq.")
    {
        Field = "body", ErrorType = "upload_idle",
    };

    public static UploadFailure Disconnected() =>
        new(UploadOutcome.ClientDisconnected, "The client went away before the answer.") { ErrorType = "client_disconnected" };

    public static UploadFailure BudgetSpent() => new(
        UploadOutcome.BudgetSpent, "The API has too many bytes in flight to Kafka; retry after the indicated delay.") { ErrorType = "budget_spent" };

    public static UploadFailure ShareSpent(string projectId) => new(
        UploadOutcome.ShareSpent, $"Project {projectId}'s uploads hold their share of the bytes in flight to Kafka; retry after the indicated delay.")
    {
        ErrorType = "share_spent",
    };

    public static UploadFailure BudgetTimeout(TimeSpan waited) => new(
        UploadOutcome.BudgetTimeout, $"The upload waited more than {waited} for in-flight budget. It was not stored: retry the same seq.")
    {
        ErrorType = "budget_timeout",
    };

    public static UploadFailure BacklogFull(BacklogView view, BacklogLimit limit) => new(
        UploadOutcome.BacklogFull,
        $"Partition {view.Partition} already holds {view.Bytes} bytes in {view.Messages} messages that the workers " +
        $"have not stored, the most it may hold ({limit.Bytes} bytes / {limit.Messages} messages) without risking the broker's " +
        "retention. Nothing was read or stored: retry the same seq after the indicated delay.")
    {
        Extensions = Backlog(view, limit), ErrorType = "backlog_full",
    };

    public static UploadFailure BacklogTimeout(BacklogView view, BacklogLimit limit, TimeSpan waited) => new(
        UploadOutcome.BacklogTimeout,
        $"The upload waited {waited} for the workers to store what partition {view.Partition} holds " +
        $"({view.Bytes} bytes). It was not stored: retry the same seq after the indicated delay.")
    {
        Extensions = Backlog(view, limit), ErrorType = "backlog_full",
    };

    public static UploadFailure MessageTooLarge(long messageBytes, string reason) => new(
        UploadOutcome.MessageTooLarge, $"Kafka refused a {messageBytes}-byte chunk as too large ({reason}); Api:ChunkBytes exceeds the topic's limit.")
    {
        Field = "body", Reason = reason, ErrorType = "MsgSizeTooLarge",
    };

    public static UploadFailure BrokerUnavailable(string reason, string errorType) => new(
        UploadOutcome.BrokerUnavailable, $"Kafka did not acknowledge the payload ({reason}). It may or may not be stored: retry the same seq.")
    {
        Reason = reason, ErrorType = errorType,
    };

    public static UploadFailure ShuttingDown(TimeSpan timeout) => new(
        UploadOutcome.ShuttingDown, $"The API is stopping and the upload did not finish within {timeout}. It was not stored: retry the same seq.")
    {
        ErrorType = "shutting_down",
    };

    private static KeyValuePair<string, object?>[] Backlog(BacklogView view, BacklogLimit limit) =>
        [new("partition", view.Partition), new("backlogBytes", view.Bytes), new("limitBytes", limit.Bytes)];
}

/// <summary>Carries an <see cref="UploadFailure"/> from where it is found (deep in a read or a wait) to the publisher.</summary>
public sealed class UploadFailedException(UploadFailure failure) : Exception(failure.Reason ?? failure.Detail)
{
    public UploadFailure Failure { get; } = failure;
}
