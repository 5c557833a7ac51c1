using System.Buffers;

namespace Ingest.Contracts.Codec;

/// <summary>
/// One <see cref="PayloadCodec"/> block decoded into a pooled buffer, returned on dispose: whoever streams a chunked
/// payload (hashing, verifying, writing it out) holds one decoded chunk at a time without allocating one per chunk.
/// </summary>
public sealed class DecodedBlock : IDisposable
{
    private byte[]? _buffer;

    private DecodedBlock(byte[] buffer, int length) => (_buffer, Length) = (buffer, length);

    /// <summary>Decoded bytes.</summary>
    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(DecodedBlock))).AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => Memory.Span;

    /// <summary>Decodes <paramref name="encoded"/>.</summary>
    /// <exception cref="PayloadFormatException">Corrupt, truncated or of an unknown format.</exception>
    public static DecodedBlock Decode(ReadOnlySpan<byte> encoded)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(PayloadCodec.GetDecodedLength(encoded), 1));
        try
        {
            return new DecodedBlock(buffer, PayloadCodec.Decode(encoded, buffer));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
