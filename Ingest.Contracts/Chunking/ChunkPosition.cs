namespace Ingest.Contracts.Chunking;

/// <summary>
/// How one chunk relates to the position of its upload (<see cref="ChunkPosition.Check"/>): it <see cref="Continues"/> it
/// (the next index, its running length adds up); it is <see cref="Behind"/> it (a redelivery, or a reordering); it leaves a
/// <see cref="Gap"/> (the chunks between are missing); or it is the next one with a <see cref="LengthMismatch"/> (its
/// header's running length is not the length so far plus its own decoded bytes).
/// </summary>
public enum ChunkStep { Continues, Behind, Gap, LengthMismatch }

/// <summary>The outcome of <see cref="ChunkPosition.Check"/>, with the reason when the chunk does not continue.</summary>
public readonly record struct ChunkCheck(ChunkStep Step, string? Reason)
{
    public bool Continues => Step == ChunkStep.Continues;
}

/// <summary>
/// Where an upload stands after its chunks so far: the index it expects next and the decoded bytes it holds. The rule
/// every consumer applies to one more chunk (<see cref="PayloadChunking"/>): indexes follow each other from 0, and each
/// chunk's <c>ingest-length</c> is the length so far plus its own decoded bytes. The running checksum needs the bytes
/// themselves: <see cref="ChunkSequenceVerifier"/> adds it on top of this.
/// </summary>
/// <param name="Next">Index of the chunk expected next (the count of chunks so far).</param>
/// <param name="Length">Decoded bytes of the chunks so far.</param>
public readonly record struct ChunkPosition(int Next, long Length)
{
    /// <summary>An upload none of whose chunks has come.</summary>
    public static ChunkPosition Start => default;

    /// <summary>
    /// Whether chunk <paramref name="index"/>, of <paramref name="decodedLength"/> bytes, continues the upload here; with
    /// <paramref name="claimedLength"/> (its header's running length) that the length adds up, too.
    /// </summary>
    public ChunkCheck Check(int index, int decodedLength, long? claimedLength = null)
    {
        if (index < Next)
        {
            return new(ChunkStep.Behind, $"chunk {index} arrived after chunk {Next - 1}");
        }

        if (index > Next)
        {
            return new(ChunkStep.Gap, Next == 0
                ? $"chunk {index} arrived but no earlier chunk of its upload is staged"
                : $"chunk {index} arrived after chunk {Next - 1}: chunks {Next}…{index - 1} are missing");
        }

        return claimedLength is { } claimed && Length + decodedLength != claimed
            ? new(ChunkStep.LengthMismatch, $"running length mismatch at chunk {index}: staged {Length} + {decodedLength} decoded bytes, header says {claimed}")
            : new(ChunkStep.Continues, null);
    }

    /// <summary>The position after the next chunk, of <paramref name="decodedLength"/> bytes.</summary>
    public ChunkPosition After(int decodedLength) => new(Next + 1, Length + decodedLength);
}
