namespace Ingest.Ops.Redrive;

/// <summary>What to redrive, from where, to where.</summary>
/// <param name="DeadLetterTopic">Dead-letter topic to read, e.g. <c>ingest.payloads.dlq</c>.</param>
/// <param name="BootstrapServers">Kafka bootstrap servers.</param>
/// <param name="Target">Topic to write to; null: each letter's original topic (<c>ingest-dlq-topic</c>).</param>
/// <param name="Group">
/// Consumer group recording what was redriven when <paramref name="Positions"/> is null (all letters): a second
/// run redrives only what was dead-lettered since.
/// </param>
/// <param name="Positions">Only these dead letters (partition, offset); nothing is committed. Null: all of them.</param>
/// <param name="DryRun">Read and report what would be redriven; produce, delete and commit nothing.</param>
/// <param name="ConnectionString">The store, needed for chunked payloads (their staged chunks); null when not given.</param>
public sealed record RedriveRequest(
    string DeadLetterTopic,
    string BootstrapServers,
    string? Target,
    string Group,
    IReadOnlyList<(int Partition, long Offset)>? Positions,
    bool DryRun,
    string? ConnectionString);

/// <summary>One dead letter redriven (or, in a dry run, that would be).</summary>
/// <param name="Partition">Its partition in the dead-letter topic.</param>
/// <param name="Offset">Its offset in the dead-letter topic.</param>
/// <param name="Target">Topic it was (would be) written to.</param>
/// <param name="Kind"><c>message</c> (copied as is) or <c>chunked</c> (re-chunked from its staged chunks).</param>
/// <param name="Session"><c>project/session/seq</c> when the letter has a readable envelope.</param>
/// <param name="Messages">Messages produced (the chunk count for a chunked payload).</param>
/// <param name="PayloadId">For a chunked payload: the fresh payload id it was re-sent under.</param>
/// <param name="Error">The letter's dead-letter error.</param>
public sealed record RedrivenLetter(
    int Partition, long Offset, string Target, string Kind, string? Session, int Messages, Guid? PayloadId, string? Error);

/// <summary>What a redrive did.</summary>
/// <param name="DeadLetterTopic">The dead-letter topic read.</param>
/// <param name="DryRun">True when nothing was written.</param>
/// <param name="Letters">The letters, in the order they were redriven.</param>
public sealed record RedriveReport(string DeadLetterTopic, bool DryRun, IReadOnlyList<RedrivenLetter> Letters);

/// <summary>A redrive that cannot go on, with one clear line; what was redriven before it stays redriven.</summary>
public sealed class RedriveException : Exception
{
    public RedriveException(string message)
        : base(message)
    {
    }

    public RedriveException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public RedriveException()
    {
    }
}
