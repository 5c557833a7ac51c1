using System.Buffers.Binary;
using System.IO.Hashing;

namespace Ingest.Api.Payloads;

/// <summary>
/// Checks the integrity trailer a content coding carries, which the decoders skip: .NET's GZipStream
/// ends silently at a truncated body (we would store half a payload), and K4os' LZ4Stream ignores the
/// frame's content checksum (flipped bits would decode to other bytes). The decoded bytes are hashed as
/// they stream past, so the check needs no copy of the payload.
/// </summary>
public sealed class CodingTrailer(ContentCoding coding)
{
    private const uint Lz4FrameMagic = 0x184D2204;
    private const byte Lz4ContentChecksumFlag = 0x04;

    private readonly Crc32? _crc = coding == ContentCoding.Gzip ? new Crc32() : null;
    private readonly XxHash32? _xxHash = coding == ContentCoding.Lz4 ? new XxHash32() : null;

    /// <summary>Hashes the next decoded bytes.</summary>
    public void Append(ReadOnlySpan<byte> decoded)
    {
        _crc?.Append(decoded);
        _xxHash?.Append(decoded);
    }

    /// <summary>Null when the trailer matches what was appended (or the coding has none), else why not.</summary>
    public string? Verify(RecordingStream raw, long decodedLength) => coding switch
    {
        ContentCoding.Gzip => VerifyGzip(raw, decodedLength),
        ContentCoding.Lz4 => VerifyLz4(raw),
        _ => null,
    };

    private string? VerifyGzip(RecordingStream raw, long decodedLength)
    {
        // RFC 1952: a member ends with CRC-32 and ISIZE (length mod 2^32), little-endian.
        if (raw.BytesRead < 18)
        {
            return "the gzip body is shorter than a gzip header and trailer.";
        }

        var tail = raw.Tail;
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
        return size == unchecked((uint)decodedLength) && crc == _crc!.GetCurrentHashAsUInt32()
            ? null
            : "the gzip trailer (CRC-32 and length) does not match the decoded data: the body is truncated or corrupt.";
    }

    private string? VerifyLz4(RecordingStream raw)
    {
        var head = raw.Head;
        if (head.Length < 5 || BinaryPrimitives.ReadUInt32LittleEndian(head) != Lz4FrameMagic || (head[4] & Lz4ContentChecksumFlag) == 0)
        {
            return null; // no content checksum to check
        }

        // LZ4 frame format: the content checksum (XXH32, seed 0) follows the end mark.
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(raw.Tail[4..]);
        return _xxHash!.GetCurrentHashAsUInt32() == expected
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
