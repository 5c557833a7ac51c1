using System.Buffers.Binary;
using System.IO.Hashing;
using K4os.Compression.LZ4;

namespace Ingest.Contracts.Codec;

/// <summary>
/// Client-side payload compression: our processes LZ4 the bytes, so the topic is
/// <c>compression.type=producer</c> and neither the producer nor the broker compresses them again.
/// </summary>
/// <remarks>
/// Layout of an encoded value (format 1), all integers little-endian:
/// <code>
/// [0]      magic 0xA7
/// [1]      block kind: 1 = LZ4 block, 0 = stored (LZ4 would not shrink it)
/// [2..5]   decoded length, uint32
/// [6..9]   XxHash32 (seed 0) of the decoded bytes
/// [10..]   the block
/// </code>
/// The checksum makes corruption that still decompresses (a flipped literal) a clear error rather than
/// silently different bytes.
/// </remarks>
public static class PayloadCodec
{
    /// <summary>Value of the <c>ingest-encoding</c> header for this format.</summary>
    public const string Name = "ingest-lz4-v1";

    /// <summary>Bytes in front of the block.</summary>
    public const int HeaderLength = 10;

    /// <summary>Largest decoded block this codec writes or reads (a guard against absurd lengths in corrupt input).</summary>
    public const int MaxDecodedLength = 64 * 1024 * 1024;

    private const byte Magic = 0xA7;
    private const byte KindStored = 0;
    private const byte KindLz4 = 1;

    /// <summary>Largest encoded size for <paramref name="decodedLength"/> input bytes.</summary>
    public static int MaxEncodedLength(int decodedLength) =>
        HeaderLength + Math.Max(decodedLength, LZ4Codec.MaximumOutputSize(decodedLength));

    /// <summary>Encodes <paramref name="source"/> into a new array.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> source)
    {
        var buffer = new byte[MaxEncodedLength(source.Length)];
        var written = Encode(source, buffer);
        return written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
    }

    /// <summary>Encodes <paramref name="source"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length > MaxDecodedLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(source), $"A block holds at most {MaxDecodedLength} bytes; got {source.Length}.");
        }

        if (destination.Length < MaxEncodedLength(source.Length))
        {
            throw new ArgumentException("Destination is smaller than MaxEncodedLength(source.Length).", nameof(destination));
        }

        destination[0] = Magic;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[2..], (uint)source.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[6..], XxHash32.HashToUInt32(source));

        var body = destination[HeaderLength..];
        var compressed = source.IsEmpty ? -1 : LZ4Codec.Encode(source, body, LZ4Level.L00_FAST);
        if (compressed > 0 && compressed < source.Length)
        {
            destination[1] = KindLz4;
            return HeaderLength + compressed;
        }

        destination[1] = KindStored;
        source.CopyTo(body);
        return HeaderLength + source.Length;
    }

    /// <summary>The decoded length recorded in an encoded value's header.</summary>
    /// <exception cref="PayloadFormatException">The header is missing or invalid.</exception>
    public static int GetDecodedLength(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length < HeaderLength)
        {
            throw new PayloadFormatException(
                $"Encoded payload is {encoded.Length} bytes, shorter than the {HeaderLength}-byte header.");
        }

        if (encoded[0] != Magic)
        {
            throw new PayloadFormatException(
                $"Encoded payload starts with 0x{encoded[0]:X2}, not the {Name} magic byte 0x{Magic:X2}.");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(encoded[2..]);
        if (length > MaxDecodedLength)
        {
            throw new PayloadFormatException(
                $"Encoded payload claims {length} decoded bytes, more than the {MaxDecodedLength}-byte limit.");
        }

        return (int)length;
    }

    /// <summary>Decodes into a new array.</summary>
    /// <exception cref="PayloadFormatException">Corrupt, truncated or of an unknown format.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> encoded)
    {
        var output = new byte[GetDecodedLength(encoded)];
        Decode(encoded, output);
        return output;
    }

    /// <summary>Decodes into <paramref name="destination"/>, which must hold <see cref="GetDecodedLength"/> bytes.</summary>
    /// <exception cref="PayloadFormatException">Corrupt, truncated or of an unknown format.</exception>
    public static int Decode(ReadOnlySpan<byte> encoded, Span<byte> destination)
    {
        var length = GetDecodedLength(encoded);
        if (destination.Length < length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; {length} needed.", nameof(destination));
        }

        var body = encoded[HeaderLength..];
        var output = destination[..length];
        switch (encoded[1])
        {
            case KindStored when body.Length == length:
                body.CopyTo(output);
                break;
            case KindStored:
                throw new PayloadFormatException(
                    $"Stored payload block is {body.Length} bytes but its header says {length}.");
            case KindLz4:
                var decoded = LZ4Codec.Decode(body, output);
                if (decoded != length)
                {
                    throw new PayloadFormatException(
                        $"LZ4 block did not decode to the {length} bytes its header promises (corrupt or truncated).");
                }

                break;
            default:
                throw new PayloadFormatException($"Unknown block kind {encoded[1]} in {Name} payload.");
        }

        var expected = BinaryPrimitives.ReadUInt32LittleEndian(encoded[6..]);
        if (XxHash32.HashToUInt32(output) != expected)
        {
            throw new PayloadFormatException("Decoded payload does not match its checksum (corrupt data).");
        }

        return length;
    }
}
