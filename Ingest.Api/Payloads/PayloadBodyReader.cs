using System.Buffers;
using System.IO.Compression;
using K4os.Compression.LZ4.Streams;

namespace Ingest.Api.Payloads;

/// <summary>What reading a request body came to.</summary>
public enum BodyOutcome
{
    Decoded,
    Empty,

    /// <summary>More than the limit decoded bytes (or Kestrel refused the raw body as too large).</summary>
    TooLarge,

    /// <summary>Not valid gzip / LZ4 frame data.</summary>
    Undecodable,
}

/// <summary>
/// Reads a request body through its <c>Content-Encoding</c> into a pooled buffer, counting decoded bytes as
/// they come: a decompression bomb stops at the limit instead of filling memory.
/// </summary>
public static class PayloadBodyReader
{
    private const int InitialBuffer = 64 * 1024;

    /// <summary>Decodes <paramref name="body"/>; on <see cref="BodyOutcome.Decoded"/> the caller disposes the <see cref="DecodedBody"/>.</summary>
    /// <param name="body">The raw request body.</param>
    /// <param name="coding">Its content coding.</param>
    /// <param name="limit">Most decoded bytes accepted.</param>
    /// <param name="lengthHint">Content-Length of an identity body, to size the buffer once.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<(BodyOutcome Outcome, DecodedBody? Decoded, string? Error)> ReadAsync(
        Stream body, ContentCoding coding, int limit, long? lengthHint, CancellationToken cancellationToken)
    {
        var initial = coding == ContentCoding.Identity && lengthHint is > 0
            ? (int)Math.Min(lengthHint.Value + 1, (long)limit + 1)
            : (int)Math.Min(InitialBuffer, (long)limit + 1);
        var buffer = ArrayPool<byte>.Shared.Rent(initial);
        var length = 0;
        try
        {
            await using (var decoded = Decoder(body, coding))
            {
                int read;
                do
                {
                    if (length == buffer.Length)
                    {
                        buffer = Grow(buffer, (int)Math.Min((long)buffer.Length * 2, (long)limit + 1));
                    }

                    read = await decoded.ReadAsync(buffer.AsMemory(length), cancellationToken);
                    length += read;
                    if (length > limit)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (BodyOutcome.TooLarge, null, null);
                    }
                }
                while (read > 0);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or InvalidOperationException or ArgumentException)
        {
            // GZipStream and LZ4Stream throw these on corrupt, truncated or foreign data.
            ArrayPool<byte>.Shared.Return(buffer);
            return (BodyOutcome.Undecodable, null, ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (BodyOutcome.TooLarge, null, null);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (length == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (BodyOutcome.Empty, null, null);
        }

        return (BodyOutcome.Decoded, new DecodedBody(buffer, length), null);
    }

    private static Stream Decoder(Stream body, ContentCoding coding) => coding switch
    {
        ContentCoding.Gzip => new GZipStream(body, CompressionMode.Decompress, leaveOpen: true),
        ContentCoding.Lz4 => LZ4Stream.Decode(body, leaveOpen: true),
        _ => new NonClosingStream(body),
    };

    private static byte[] Grow(byte[] buffer, int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan().CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    /// <summary>The request body itself is Kestrel's to close.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Decoded payload bytes in a pooled buffer, returned to the pool on dispose.</summary>
public sealed class DecodedBody(byte[] buffer, int length) : IDisposable
{
    private byte[]? _buffer = buffer;

    public int Length { get; } = length;

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(DecodedBody))).AsMemory(0, Length);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } rented)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
