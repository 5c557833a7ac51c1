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

    /// <summary>Not valid gzip / LZ4 frame data, or its trailer does not match.</summary>
    Undecodable,
}

/// <summary>The outcome; <see cref="Body"/> is set (and owned by the caller) only for <see cref="BodyOutcome.Decoded"/>.</summary>
public sealed record BodyRead(BodyOutcome Outcome, DecodedBody? Body = null, string? Error = null);

/// <summary>
/// Reads a request body through its <c>Content-Encoding</c> into a pooled buffer, counting decoded bytes as
/// they come: a decompression bomb stops at the limit instead of filling memory.
/// </summary>
public static class PayloadBodyReader
{
    private const int InitialBuffer = 64 * 1024;

    /// <summary>Decodes <paramref name="body"/>.</summary>
    /// <param name="body">The raw request body.</param>
    /// <param name="coding">Its content coding.</param>
    /// <param name="limit">Most decoded bytes accepted.</param>
    /// <param name="lengthHint">Content-Length of an identity body, to size the buffer once.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<BodyRead> ReadAsync(
        Stream body, ContentCoding coding, int limit, long? lengthHint, CancellationToken cancellationToken)
    {
        var initial = coding == ContentCoding.Identity && lengthHint is > 0 ? lengthHint.Value + 1 : InitialBuffer;
        var decoded = new DecodedBody((int)Math.Min(initial, (long)limit + 1));
        var result = await DecodeAsync(new RecordingStream(body), coding, decoded, limit, cancellationToken);
        if (result.Outcome != BodyOutcome.Decoded)
        {
            decoded.Dispose();
        }

        return result;
    }

    private static async Task<BodyRead> DecodeAsync(
        RecordingStream raw, ContentCoding coding, DecodedBody decoded, int limit, CancellationToken cancellationToken)
    {
        try
        {
            // Disposing the decoder closes RecordingStream, which leaves the request body to Kestrel.
            await using var decoder = Decoder(raw, coding);
            while (await decoded.ReadFromAsync(decoder, limit + 1, cancellationToken) > 0)
            {
                if (decoded.Length > limit)
                {
                    return new BodyRead(BodyOutcome.TooLarge);
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or InvalidOperationException or ArgumentException or NotImplementedException)
        {
            // GZipStream throws InvalidData; LZ4Stream InvalidData/EndOfStream, and InvalidOperation for a bad block.
            return new BodyRead(BodyOutcome.Undecodable, Error: ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new BodyRead(BodyOutcome.TooLarge);
        }

        if (raw.BytesRead == 0)
        {
            return new BodyRead(BodyOutcome.Empty); // an empty body is empty in any coding
        }

        if (CodingTrailer.Verify(coding, raw, decoded.Memory.Span) is { } mismatch)
        {
            return new BodyRead(BodyOutcome.Undecodable, Error: mismatch);
        }

        return decoded.Length == 0 ? new BodyRead(BodyOutcome.Empty) : new BodyRead(BodyOutcome.Decoded, decoded);
    }

    private static Stream Decoder(Stream body, ContentCoding coding) => coding switch
    {
        ContentCoding.Gzip => new GZipStream(body, CompressionMode.Decompress),
        ContentCoding.Lz4 => LZ4Stream.Decode(body),
        _ => body,
    };
}

/// <summary>Decoded payload bytes in a pooled buffer, returned to the pool on dispose.</summary>
public sealed class DecodedBody(int initialCapacity) : IDisposable
{
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(DecodedBody));

    /// <summary>Appends one read from <paramref name="source"/>, growing the buffer up to <paramref name="capacityLimit"/>.</summary>
    public async ValueTask<int> ReadFromAsync(Stream source, int capacityLimit, CancellationToken cancellationToken)
    {
        if (Length == Buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)Length * 2, capacityLimit));
            Buffer.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(Buffer);
            _buffer = bigger;
        }

        var read = await source.ReadAsync(Buffer.AsMemory(Length), cancellationToken);
        Length += read;
        return read;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } rented)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
