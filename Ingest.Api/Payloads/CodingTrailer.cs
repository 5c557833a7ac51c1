using System.Buffers.Binary;
using System.IO.Hashing;

namespace Ingest.Api.Payloads;

/// <summary>
/// Checks the integrity trailer a content coding carries, which the decoders skip: .NET's GZipStream
/// ends silently at a truncated body (we would store half a payload), and K4os' LZ4Stream ignores the
/// frame's content checksum (flipped bits would decode to other bytes).
/// </summary>
public static class CodingTrailer
{
    private const uint Lz4FrameMagic = 0x184D2204;
    private const byte Lz4ContentChecksumFlag = 0x04;

    /// <summary>Null when the trailer matches <paramref name="decoded"/> (or the coding has none), else why not.</summary>
    public static string? Verify(ContentCoding coding, RecordingStream raw, ReadOnlySpan<byte> decoded) => coding switch
    {
        ContentCoding.Gzip => VerifyGzip(raw, decoded),
        ContentCoding.Lz4 => VerifyLz4(raw, decoded),
        _ => null,
    };

    private static string? VerifyGzip(RecordingStream raw, ReadOnlySpan<byte> decoded)
    {
        // RFC 1952: a member ends with CRC-32 and ISIZE (length mod 2^32), little-endian.
        if (raw.BytesRead < 18)
        {
            return "the gzip body is shorter than a gzip header and trailer.";
        }

        var tail = raw.Tail;
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
        return size == unchecked((uint)decoded.Length) && crc == Crc32.HashToUInt32(decoded)
            ? null
            : "the gzip trailer (CRC-32 and length) does not match the decoded data: the body is truncated or corrupt.";
    }

    private static string? VerifyLz4(RecordingStream raw, ReadOnlySpan<byte> decoded)
    {
        var head = raw.Head;
        if (head.Length < 5 || BinaryPrimitives.ReadUInt32LittleEndian(head) != Lz4FrameMagic || (head[4] & Lz4ContentChecksumFlag) == 0)
        {
            return null; // no content checksum to check
        }

        // LZ4 frame format: the content checksum (XXH32, seed 0) follows the end mark.
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(raw.Tail[4..]);
        return XxHash32.HashToUInt32(decoded) == expected
            ? null
            : "the LZ4 frame's content checksum does not match the decoded data: the body is corrupt.";
    }
}

/// <summary>Passes reads through, remembering the first and the last 8 bytes (the request body stays Kestrel's to close).</summary>
public sealed class RecordingStream(Stream inner) : Stream
{
    private const int Keep = 8;
    private readonly byte[] _head = new byte[Keep];
    private readonly byte[] _tail = new byte[Keep];

    public long BytesRead { get; private set; }

    /// <summary>Up to the first 8 bytes read.</summary>
    public ReadOnlySpan<byte> Head => _head.AsSpan(0, (int)Math.Min(BytesRead, Keep));

    /// <summary>The last 8 bytes read (valid once at least 8 were read).</summary>
    public ReadOnlySpan<byte> Tail => _tail;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Record(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override int Read(Span<byte> buffer) => Record(buffer[..inner.Read(buffer)]);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Record(buffer.Span[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Record(ReadOnlySpan<byte> read)
    {
        if (BytesRead < Keep)
        {
            var n = (int)Math.Min(Keep - BytesRead, read.Length);
            read[..n].CopyTo(_head.AsSpan((int)BytesRead));
        }

        if (read.Length >= Keep)
        {
            read[^Keep..].CopyTo(_tail);
        }
        else if (read.Length > 0)
        {
            _tail.AsSpan(read.Length).CopyTo(_tail);
            read.CopyTo(_tail.AsSpan(Keep - read.Length));
        }

        BytesRead += read.Length;
        return read.Length;
    }
}
