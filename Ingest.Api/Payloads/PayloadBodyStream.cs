using System.IO.Compression;
using K4os.Compression.LZ4.Streams;

namespace Ingest.Api.Payloads;

/// <summary>Why a request body is refused while it is read.</summary>
public enum BodyOutcome
{
    Empty,

    /// <summary>More than the limit decoded bytes (or Kestrel refused the raw body as too large).</summary>
    TooLarge,

    /// <summary>Not valid gzip / LZ4 frame data, or its trailer does not match.</summary>
    Undecodable,
}

/// <summary>The body cannot become a payload; nothing of it may be answered 202.</summary>
public sealed class BodyRejectedException(BodyOutcome outcome, string? error = null)
    : Exception(error ?? outcome.ToString())
{
    public BodyOutcome Outcome { get; } = outcome;
}

/// <summary>
/// A request body decoded through its <c>Content-Encoding</c> on the fly, counting decoded bytes as they
/// come: a decompression bomb stops at the limit instead of filling memory. The end of the stream is
/// reported only once the coding's trailer has been checked, so a truncated or corrupt body never reads
/// as complete.
/// </summary>
public sealed class PayloadBodyStream : IAsyncDisposable
{
    private readonly RecordingStream _raw;
    private readonly Stream _decoder;
    private readonly ContentCoding _coding;
    private readonly long _limit;
    private readonly CodingTrailer _trailer;
    private bool _ended;

    private PayloadBodyStream(Stream body, ContentCoding coding, long limit)
    {
        _raw = new RecordingStream(body);
        _coding = coding;
        _limit = limit;
        _trailer = new CodingTrailer(coding);
        _decoder = coding switch
        {
            ContentCoding.Gzip => new GZipStream(_raw, CompressionMode.Decompress),
            ContentCoding.Lz4 => LZ4Stream.Decode(_raw),
            _ => _raw,
        };
    }

    /// <summary>Decoded bytes returned so far.</summary>
    public long DecodedLength { get; private set; }

    /// <summary>Decodes <paramref name="body"/>, refusing more than <paramref name="limit"/> decoded bytes.</summary>
    public static PayloadBodyStream Open(Stream body, ContentCoding coding, long limit) => new(body, coding, limit);

    /// <summary>Reads decoded bytes; 0 only at a verified, non-empty end.</summary>
    /// <exception cref="BodyRejectedException">The body is empty, too large or does not decode.</exception>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        int read;
        try
        {
            read = await _decoder.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or InvalidOperationException or ArgumentException or NotImplementedException)
        {
            // GZipStream throws InvalidData; LZ4Stream InvalidData/EndOfStream, and InvalidOperation for a bad block.
            throw new BodyRejectedException(BodyOutcome.Undecodable, ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new BodyRejectedException(BodyOutcome.TooLarge);
        }

        DecodedLength += read;
        if (DecodedLength > _limit)
        {
            throw new BodyRejectedException(BodyOutcome.TooLarge);
        }

        if (read > 0)
        {
            _trailer.Append(buffer.Span[..read]);
            return read;
        }

        _ended = true;
        if (_raw.BytesRead == 0 || DecodedLength == 0)
        {
            throw new BodyRejectedException(BodyOutcome.Empty); // an empty body is empty in any coding
        }

        if (_trailer.Verify(_raw, DecodedLength) is { } mismatch)
        {
            throw new BodyRejectedException(BodyOutcome.Undecodable, mismatch);
        }

        return 0;
    }

    /// <summary>Which coding this body is read through.</summary>
    public ContentCoding Coding => _coding;

    /// <summary>Disposing the decoder closes RecordingStream, which leaves the request body to Kestrel.</summary>
    public ValueTask DisposeAsync() => _decoder.DisposeAsync();
}
