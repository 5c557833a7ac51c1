using System.IO.Hashing;
using Ingest.Contracts.Envelope;

namespace Ingest.Contracts.Chunking;

/// <summary>Where a chunk sequence fed to a <see cref="ChunkSequenceVerifier"/> stands.</summary>
public enum ChunkSequenceState
{
    /// <summary>Good so far; more chunks are needed.</summary>
    Incomplete,

    /// <summary>The last chunk came and the whole payload verifies.</summary>
    Complete,

    /// <summary>Good so far, then its producer's abort marker: the upload will never complete.</summary>
    Aborted,

    /// <summary>A chunk is missing, repeated or out of order, or a length or checksum does not add up.</summary>
    Corrupt,
}

/// <summary>A verifier's state, with the reason for any but <see cref="ChunkSequenceState.Complete"/>.</summary>
public readonly record struct ChunkVerdict(ChunkSequenceState State, string? Reason)
{
    public bool IsComplete => State == ChunkSequenceState.Complete;

    public bool IsCorrupt => State == ChunkSequenceState.Corrupt;
}

/// <summary>Chunk count, decoded length and (when known) XxHash3-64 of a whole chunked payload.</summary>
public readonly record struct ChunkTotals(int Count, long Length, ulong? Checksum)
{
    /// <summary>The totals a last chunk's envelope claims for its payload.</summary>
    public static ChunkTotals Of(PayloadEnvelope last) => new(last.ChunkIndex + 1, last.Length, last.Checksum);

    public override string ToString() =>
        Checksum is { } checksum ? $"{Count} chunks, {Length} bytes, checksum {checksum:x16}" : $"{Count} chunks, {Length} bytes";
}

/// <summary>
/// Checks one upload's chunks, fed in order, against the chunk rules (<see cref="PayloadChunking"/>): indexes 0, 1, …
/// without gaps or repeats, each header's running length and checksum matching the bytes so far, the last flag only on
/// the last; and, when the whole payload's totals are known up front (a stored row, or a last chunk that came first),
/// that the chunks reach exactly those. It holds the running hash only, never the bytes.
/// </summary>
/// <param name="expected">The whole payload's totals, when known: chunks past them are corrupt at once, and
/// <see cref="Finish"/> compares against them.</param>
public sealed class ChunkSequenceVerifier(ChunkTotals? expected = null)
{
    private readonly XxHash3 _hash = new();
    private ChunkTotals? _expected = expected;
    private Guid? _payloadId;

    /// <summary>Chunks accepted so far and their decoded bytes.</summary>
    public ChunkPosition Position { get; private set; }

    /// <summary>XxHash3-64 of the decoded bytes accepted so far.</summary>
    public ulong Checksum => _hash.GetCurrentHashAsUInt64();

    public ChunkVerdict Verdict { get; private set; } = new(ChunkSequenceState.Incomplete, "no chunk yet");

    /// <summary>
    /// The next stored chunk (<paramref name="index"/>, its <paramref name="decoded"/> bytes): continuity, and not past
    /// the expected totals. Once the verdict is final (complete, aborted or corrupt), any further chunk is corrupt.
    /// </summary>
    public ChunkVerdict Add(int index, ReadOnlySpan<byte> decoded) => Accept(index, decoded, claimedLength: null);

    /// <summary>
    /// The next chunk message (its <paramref name="envelope"/> and <paramref name="decoded"/> value): as
    /// <see cref="Add(int, ReadOnlySpan{byte})"/>, plus the same payload id, the header's running length and checksum,
    /// and the last flag (which completes the sequence) or abort flag (which ends it aborted).
    /// </summary>
    public ChunkVerdict Add(PayloadEnvelope envelope, ReadOnlySpan<byte> decoded)
    {
        if (!Verdict.IsCorrupt && _payloadId is { } id && id != envelope.PayloadId)
        {
            return Corrupt($"chunk {envelope.ChunkIndex} belongs to payload {envelope.PayloadId:N}, not {id:N}");
        }

        _payloadId = envelope.PayloadId;
        if (Accept(envelope.ChunkIndex, decoded, envelope.Length).State != ChunkSequenceState.Incomplete)
        {
            return Verdict;
        }

        if (Checksum != envelope.Checksum)
        {
            return Corrupt($"running checksum mismatch at chunk {envelope.ChunkIndex}: {Checksum:x16} so far, header says {envelope.Checksum:x16}");
        }

        return envelope switch
        {
            { IsAbort: true } => Verdict = new(ChunkSequenceState.Aborted, $"the upload was aborted after chunk {envelope.ChunkIndex - 1}"),
            { IsLastChunk: true } => FinishWith(ChunkTotals.Of(envelope)),
            _ => Verdict,
        };
    }

    /// <summary>
    /// No more chunks: with expected totals, complete when the chunks reach exactly them, else corrupt; without, complete
    /// only if a last chunk came (<see cref="Add(PayloadEnvelope, ReadOnlySpan{byte})"/>), else incomplete.
    /// </summary>
    public ChunkVerdict Finish()
    {
        if (Verdict.State is not ChunkSequenceState.Incomplete)
        {
            return Verdict;
        }

        var seen = new ChunkTotals(Position.Next, Position.Length, _expected?.Checksum is null ? null : Checksum);
        if (_expected is not { } totals)
        {
            return Verdict = new(ChunkSequenceState.Incomplete, Position.Next == 0 ? "no chunk came" : $"no last chunk after chunk {Position.Next - 1}");
        }

        return seen == totals
            ? Verdict = new(ChunkSequenceState.Complete, null)
            : Corrupt($"reassembled payload does not verify: {seen}; expected {totals.Count} chunks, {totals.Length} bytes{(totals.Checksum is { } c ? $", {c:x16}" : "")}");
    }

    private ChunkVerdict Accept(int index, ReadOnlySpan<byte> decoded, long? claimedLength)
    {
        if (Verdict.State is not ChunkSequenceState.Incomplete)
        {
            return Verdict.IsCorrupt ? Verdict : Corrupt($"chunk {index} arrived after the upload ended ({Verdict.State.ToString().ToLowerInvariant()})");
        }

        var check = Position.Check(index, decoded.Length, claimedLength);
        if (!check.Continues)
        {
            return Corrupt(check.Reason!);
        }

        if (_expected is { } totals && (index >= totals.Count || Position.Length + decoded.Length > totals.Length))
        {
            return Corrupt($"chunk {index} goes past the payload's {totals.Count} chunks, {totals.Length} bytes");
        }

        _hash.Append(decoded);
        Position = Position.After(decoded.Length);
        return Verdict = new(ChunkSequenceState.Incomplete, $"{Position.Next} chunks so far");
    }

    /// <summary>A last chunk came: the totals it claims are the payload's, unless others were expected (then both must agree).</summary>
    private ChunkVerdict FinishWith(ChunkTotals claimed)
    {
        if (_expected is { } totals && (totals.Count, totals.Length, totals.Checksum ?? claimed.Checksum) != (claimed.Count, claimed.Length, claimed.Checksum))
        {
            return Corrupt($"the last chunk claims {claimed}; expected {totals}");
        }

        _expected = claimed;
        return Finish();
    }

    private ChunkVerdict Corrupt(string reason) => Verdict = new(ChunkSequenceState.Corrupt, reason);
}
