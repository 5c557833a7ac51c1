using Ingest.Api.Backpressure;

namespace Ingest.Api.Payloads;

/// <summary>What became of one upload.</summary>
public abstract record PublishResult
{
    /// <summary>Every chunk acknowledged by all in-sync replicas; partition/offset of the last chunk.</summary>
    public sealed record Delivered(long Bytes, int Chunks, int Partition, long Offset) : PublishResult;

    /// <summary>The body is empty, too large or does not decode; its last chunk was never produced.</summary>
    public sealed record Rejected(BodyOutcome Outcome, string? Error) : PublishResult;

    /// <summary>Kestrel refused the body (too slow: 408); its last chunk was never produced.</summary>
    public sealed record BadBody(int Status, string Reason) : PublishResult;

    /// <summary>The in-flight budget (or, <paramref name="ShareSpent"/>, its project's share) was spent when the request arrived; nothing was read.</summary>
    public sealed record BudgetSpent(bool ShareSpent) : PublishResult;

    /// <summary>The client sent nothing for <paramref name="Timeout"/> (<c>Api:UploadIdleTimeout</c>); its last chunk was never produced.</summary>
    public sealed record Idle(TimeSpan Timeout) : PublishResult;

    /// <summary>An upload in progress waited too long for budget; its last chunk was never produced.</summary>
    public sealed record BudgetTimeout : PublishResult;

    /// <summary>
    /// The session's partition holds as much accepted-but-unstored data as the topic can safely keep: a new payload
    /// (nothing read, nothing produced) or an upload in progress that waited <c>Api:BacklogWaitTimeout</c> for room
    /// (its last chunk was never produced).
    /// </summary>
    public sealed record BacklogFull(BacklogView View, BacklogLimit Limit, bool Waited) : PublishResult;

    /// <summary>The broker refuses a chunk as too large (topic limit below <c>Api:ChunkBytes</c>).</summary>
    public sealed record TooLarge(long MessageBytes, string Reason) : PublishResult;

    /// <summary>Kafka did not acknowledge a chunk in time or refused it; the payload may or may not be stored.</summary>
    public sealed record Unavailable(string Reason) : PublishResult;

    /// <summary>The client went away before the answer.</summary>
    public sealed record Disconnected : PublishResult;
}
