using System.IO.Compression;
using System.IO.Pipelines;
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

    /// <summary>An LZ4 frame declares blocks larger than <see cref="Lz4FrameGuard.MaxBlockBytes"/>.</summary>
    BlockTooLarge,
}

/// <summary>The client sent nothing for <c>Api:UploadIdleTimeout</c> while the API waited for its bytes (408).</summary>
public sealed class UploadIdleException(TimeSpan timeout) : Exception($"No bytes came for {timeout}.")
{
    public TimeSpan Timeout { get; } = timeout;
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

    private PayloadBodyStream(PipeReader body, ContentCoding coding, long limit, TimeSpan idleTimeout)
    {
        _raw = new RecordingStream(body, idleTimeout, coding == ContentCoding.Lz4 ? new Lz4FrameGuard() : null);
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

    /// <summary>
    /// Decodes <paramref name="body"/> (a request's <c>BodyReader</c>), refusing more than <paramref name="limit"/> decoded
    /// bytes; a wait for the client's bytes longer than <paramref name="idleTimeout"/> throws <see cref="UploadIdleException"/>.
    /// </summary>
    public static PayloadBodyStream Open(PipeReader body, ContentCoding coding, long limit, TimeSpan idleTimeout) =>
        new(body, coding, limit, idleTimeout);

    /// <summary>Decodes a stream (tests, tools), with no idle timeout.</summary>
    public static PayloadBodyStream Open(Stream body, ContentCoding coding, long limit) =>
        new(PipeReader.Create(body, new StreamPipeReaderOptions(leaveOpen: true)), coding, limit, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Returns once the client has sent bytes not read yet (or ended its body), without reading them: the caller takes
    /// budget only for bytes that are there. Throws <see cref="UploadIdleException"/> after the idle timeout.
    /// </summary>
    public async ValueTask WaitForDataAsync(CancellationToken cancellationToken)
    {
        if (_ended)
        {
            return;
        }

        try
        {
            await _raw.WaitForDataAsync(cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new BodyRejectedException(BodyOutcome.TooLarge);
        }
    }

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
