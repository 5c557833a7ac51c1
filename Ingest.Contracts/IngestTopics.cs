namespace Ingest.Contracts;

/// <summary>Topic names shared by every producer and consumer of Ingest.</summary>
public static class IngestTopics
{
    /// <summary>Default payload topic (<c>Ingest:Topic</c> overrides it).</summary>
    public const string Payloads = "ingest.payloads";

    /// <summary>Suffix of the dead-letter topic that belongs to a payload topic.</summary>
    public const string DeadLetterSuffix = ".dlq";

    /// <summary>The dead-letter topic for <paramref name="payloadTopic"/>.</summary>
    public static string DeadLetterFor(string payloadTopic) => payloadTopic + DeadLetterSuffix;
}
