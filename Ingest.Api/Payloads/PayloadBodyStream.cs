using System.IO.Compression;
using System.IO.Pipelines;
using K4os.Compression.LZ4.Streams;

namespace Ingest.Api.Payloads;

/// <summary>
/// A request body decoded through its <c>Content-Encoding</c> on the fly, counting decoded bytes as they
/// come: a decompression bomb stops at the limit instead of filling memory. The end of the stream is
/// reported only once the coding's trailer has been checked, so a truncated or corrupt body never reads
/// as complete. Every way a read can fail ends here as an <see cref="UploadFailedException"/> naming its
/// <see cref="Problems.UploadOutcome"/>: what Kestrel throws (a client gone, a body too large or too slow) is known
/// by no one downstream.
/// </summary>
public sealed class PayloadBodyStream : IAsyncDisposable
{
    private readonly RecordingStream _raw;
    private readonly Stream _decoder;
    private readonly ContentCoding _coding;
    private readonly long _limit;
    private readonly CodingTrailer _trailer;
    private bool _ended;

    private PayloadBodyStream(PipeReader body, ContentCoding coding, long limit, TimeSpan idleTimeout, TimeProvider time)
    {
        _raw = new RecordingStream(body, idleTimeout, time, coding == ContentCoding.Lz4 ? new Lz4FrameGuard() : null);
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
    /// bytes; a wait for the client's bytes longer than <paramref name="idleTimeout"/> (on <paramref name="time"/>'s clock)
    /// fails as <see cref="Problems.UploadOutcome.UploadIdle"/>.
    /// </summary>
    public static PayloadBodyStream Open(PipeReader body, ContentCoding coding, long limit, TimeSpan idleTimeout, TimeProvider time) =>
        new(body, coding, limit, idleTimeout, time);

    /// <summary>Decodes a stream (tests, tools), with no idle timeout.</summary>
    public static PayloadBodyStream Open(Stream body, ContentCoding coding, long limit) =>
        new(PipeReader.Create(body, new StreamPipeReaderOptions(leaveOpen: true)), coding, limit, Timeout.InfiniteTimeSpan, TimeProvider.System);

    /// <summary>
    /// Returns once the client has sent bytes not read yet (or ended its body), without reading them: the caller takes
    /// budget only for bytes that are there. Fails as <see cref="Problems.UploadOutcome.UploadIdle"/> after the idle timeout.
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
        catch (Exception ex) when (FromKestrel(ex, cancellationToken) is { } failure)
        {
            throw new UploadFailedException(failure);
        }
    }

    /// <summary>Reads decoded bytes; 0 only at a verified, non-empty end.</summary>
    /// <exception cref="UploadFailedException">The body is empty, too large, does not decode, or could not be read.</exception>
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
            throw new UploadFailedException(UploadFailure.Undecodable(_coding, ex.Message));
        }
        catch (Exception ex) when (FromKestrel(ex, cancellationToken) is { } failure)
        {
            throw new UploadFailedException(failure);
        }

        DecodedLength += read;
        if (DecodedLength > _limit)
        {
            throw new UploadFailedException(UploadFailure.TooLarge(_limit));
        }

        if (read > 0)
        {
            _trailer.Append(buffer.Span[..read]);
            return read;
        }

        _ended = true;
        if (_raw.BytesRead == 0 || DecodedLength == 0)
        {
            throw new UploadFailedException(UploadFailure.Empty()); // an empty body is empty in any coding
        }

        if (_trailer.Verify(_raw, DecodedLength) is { } mismatch)
        {
            throw new UploadFailedException(UploadFailure.Undecodable(_coding, mismatch));
        }

        return 0;
    }

    /// <summary>Which coding this body is read through.</summary>
    public ContentCoding Coding => _coding;

    /// <summary>
    /// What a failed read of Kestrel's request body means, or null for an exception that is not about the body (the caller's
    /// own cancellation, already a failure). Kestrel ends a connection closed (FIN or RST) before Content-Length bytes
    /// came ("Unexpected end of request content", 400) or a bad chunked framing (400) without an answer, and a reset or aborted
    /// connection surfaces as ConnectionResetException (an IOException) or ConnectionAbortedException (an
    /// OperationCanceledException), possibly before RequestAborted fires: all of them a client that went away.
    /// </summary>
    private UploadFailure? FromKestrel(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => UploadFailure.TooLarge(_limit),
        BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } => UploadFailure.Disconnected(),
        BadHttpRequestException bad when !cancellationToken.IsCancellationRequested => UploadFailure.Incomplete(bad.StatusCode, bad.Message),
        IOException => UploadFailure.Disconnected(),
        OperationCanceledException when !cancellationToken.IsCancellationRequested => UploadFailure.Disconnected(),
        _ => null,
    };

    /// <summary>Disposing the decoder closes RecordingStream, which leaves the request body to Kestrel.</summary>
    public ValueTask DisposeAsync() => _decoder.DisposeAsync();
}
