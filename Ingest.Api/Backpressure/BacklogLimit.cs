namespace Ingest.Api.Backpressure;

/// <summary>Most a partition may hold that the worker group has not committed: bytes and record batches.</summary>
/// <param name="Bytes">Bytes of messages (values, keys, headers and record framing).</param>
/// <param name="Messages">Messages (an upper bound on batches, which is what the embedded broker counts).</param>
/// <param name="UnknownMessageBytes">Size assumed for a message this API did not produce and has never sized.</param>
public sealed record BacklogLimit(long Bytes, long Messages, long UnknownMessageBytes);

/// <summary>A partition's backlog as this API sees it, for refusals, metrics and the status page.</summary>
public readonly record struct BacklogView(int Partition, long Bytes, long Messages, long Committed, long End, int Waiting);
