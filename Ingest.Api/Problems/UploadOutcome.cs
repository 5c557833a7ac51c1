namespace Ingest.Api.Problems;

/// <summary>
/// Why an upload that got past its limits and request checks was not accepted, decided where it happened: the body
/// reader (client, idle, size, coding), the in-flight budget, the backlog guard, Kafka, or the shutdown deadline.
/// <see cref="UploadProblems"/> says how each one is answered.
/// </summary>
public enum UploadOutcome
{
    /// <summary>The body has no bytes (in any coding).</summary>
    EmptyBody,

    /// <summary>More than <c>Api:MaxPayloadBytes</c> decoded bytes, or Kestrel refused the raw body as too large.</summary>
    PayloadTooLarge,

    /// <summary>Not valid gzip / LZ4 frame data, or its trailer does not match.</summary>
    Undecodable,

    /// <summary>An LZ4 frame declares blocks larger than the chunk size.</summary>
    Lz4BlockTooLarge,

    /// <summary>Kestrel refused the body itself (it came slower than its minimum data rate: 408).</summary>
    IncompleteBody,

    /// <summary>The client sent nothing for <c>Api:UploadIdleTimeout</c> while the API waited for its bytes.</summary>
    UploadIdle,

    /// <summary>The client went away (connection ended, reset or aborted) before the answer; nothing is sent.</summary>
    ClientDisconnected,

    /// <summary>The whole in-flight budget was spent when the request arrived; nothing was read.</summary>
    BudgetSpent,

    /// <summary>The project's share of the in-flight budget was spent when the request arrived; nothing was read.</summary>
    ShareSpent,

    /// <summary>An upload in progress waited longer than <c>Api:BudgetWaitTimeout</c> for budget.</summary>
    BudgetTimeout,

    /// <summary>A new payload's partition had no room in its backlog for <c>Api:BacklogAdmitTimeout</c>; nothing of it produced.</summary>
    BacklogFull,

    /// <summary>A chunk of an upload in progress waited <c>Api:BacklogWaitTimeout</c> for room in its partition's backlog.</summary>
    BacklogTimeout,

    /// <summary>Kafka refused a chunk as too large (the topic's limit is below <c>Api:ChunkBytes</c>).</summary>
    MessageTooLarge,

    /// <summary>Kafka did not acknowledge a chunk in time, or refused it; the payload may or may not be stored.</summary>
    BrokerUnavailable,

    /// <summary>The API began stopping and the upload did not finish within <c>Api:ShutdownTimeout</c>.</summary>
    ShuttingDown,
}
