using Ingest.Api.Payloads;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Storage.Reading;
using Microsoft.Net.Http.Headers;

namespace Ingest.Api.Sessions;

/// <summary>
/// Writes a stored payload decoded, chunk by chunk, with <c>Content-Length</c> from the stored length: a
/// 100 MiB payload passes through one chunk's worth of memory. Corruption found after the headers are sent (a block
/// that does not decode, chunks out of order, or bytes that do not add up to the row's chunk count, length and checksum)
/// aborts the connection, so a client never takes a short or altered body for the payload.
/// </summary>
/// <remarks>
/// A payload is whatever a holder of an ingest key sent: to a browser that opens its URL it must stay inert data. So
/// it is served only as a type ingest admits (<see cref="PayloadContent.Json"/>, else
/// <see cref="PayloadContent.OctetStream"/>, whatever the row says: rows may come from other producers), with
/// <c>Content-Security-Policy: default-src 'none'; sandbox</c> (nothing loads or runs, and the document gets an opaque
/// origin even if a browser rendered it), <c>nosniff</c> (<see cref="Security.SecurityHeaders"/>), and binary payloads
/// as a download (<c>Content-Disposition: attachment</c>).
/// </remarks>
public sealed class StoredPayloadResult(StoredPayload stored, string fileName, SessionReader reader, Action<string> onCorrupt) : IResult
{
    /// <summary>The policy of a payload response.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; sandbox";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var cancellationToken = httpContext.RequestAborted;
        var contentType = PayloadContent.NegotiateMediaType(stored.ContentType) ?? PayloadContent.OctetStream;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = stored.Length;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        if (contentType != PayloadContent.Json)
        {
            response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileName = fileName }.ToString();
        }

        // The row's chunk count, length and checksum are what the stored chunks must add up to.
        var verifier = new ChunkSequenceVerifier(new ChunkTotals(stored.ChunkCount, stored.Length, stored.Checksum));
        try
        {
            if (stored.EncodedBody is { } single)
            {
                await WriteDecodedAsync(response, verifier, 0, single, cancellationToken);
            }
            else
            {
                await reader.ReadChunksAsync(
                    stored.PayloadId, (index, block, token) => WriteDecodedAsync(response, verifier, index, block, token), cancellationToken);
            }

            if (verifier.Finish() is { IsComplete: false } verdict)
            {
                throw new PayloadFormatException(verdict.Reason!);
            }
        }
        catch (PayloadFormatException ex)
        {
            onCorrupt(ex.Message);
            httpContext.Abort();
        }
    }

    /// <summary>
    /// Decodes and verifies one chunk before any of it is written: a body never runs past the stored length, and the row's
    /// last chunk is written only if the whole payload verifies (its checksum is known only then), so a client reading
    /// a payload whose bytes do not match gets a short body, never a complete-looking one.
    /// </summary>
    private async ValueTask WriteDecodedAsync(
        HttpResponse response, ChunkSequenceVerifier verifier, int index, byte[] block, CancellationToken cancellationToken)
    {
        using var decoded = DecodedBlock.Decode(block);
        var verdict = verifier.Add(index, decoded.Span);
        if (!verdict.IsCorrupt && verifier.Position.Next == stored.ChunkCount)
        {
            verdict = verifier.Finish();
        }

        if (verdict.IsCorrupt)
        {
            throw new PayloadFormatException(verdict.Reason!);
        }

        await response.Body.WriteAsync(decoded.Memory, cancellationToken);
    }
}
