using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.Pipelines;

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

/// <summary>
/// The request body as a stream for the decoders, read from its <see cref="PipeReader"/>: remembers the first and the
/// last 8 bytes (for the coding's trailer), shows the raw bytes to an <see cref="Lz4FrameGuard"/> before the decoder sees
/// them, and ends a wait for the client's bytes longer than the idle timeout as <see cref="Problems.UploadOutcome.UploadIdle"/>. The
/// request body stays Kestrel's to complete.
/// </summary>
public sealed class RecordingStream(PipeReader inner, TimeSpan idleTimeout, TimeProvider time, Lz4FrameGuard? guard = null) : Stream
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

    /// <summary>Kestrel allows no synchronous body reads, and neither decoder makes one on the asynchronous path.</summary>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Request bodies are read asynchronously.");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        var result = await ReadPipeAsync(cancellationToken);
        var data = result.Buffer;
        var read = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, read).CopyTo(buffer.Span);
        inner.AdvanceTo(data.GetPosition(read));
        guard?.Observe(buffer.Span[..read]);
        return Record(buffer.Span[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Returns once bytes are there to read (or the body has ended), reading none of them.</summary>
    public async ValueTask WaitForDataAsync(CancellationToken cancellationToken)
    {
        var result = await ReadPipeAsync(cancellationToken);
        inner.AdvanceTo(result.Buffer.Start); // nothing consumed, nothing examined: the next read returns these bytes at once
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Bytes already there at once; else a wait for the client bounded by the idle timeout, counted from now.</summary>
    private async ValueTask<ReadResult> ReadPipeAsync(CancellationToken cancellationToken)
    {
        if (inner.TryRead(out var ready))
        {
            return ready;
        }

        if (idleTimeout == Timeout.InfiniteTimeSpan)
        {
            return await inner.ReadAsync(cancellationToken);
        }

        using var idle = new CancellationTokenSource(idleTimeout, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token);
        try
        {
            return await inner.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new UploadFailedException(UploadFailure.Idle(idleTimeout));
        }
    }

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
