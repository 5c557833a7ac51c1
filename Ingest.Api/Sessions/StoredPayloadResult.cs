using System.Buffers;
using Ingest.Api.Payloads;
using Ingest.Contracts.Codec;
using Ingest.Storage.Reading;
using Microsoft.Net.Http.Headers;

namespace Ingest.Api.Sessions;

/// <summary>
/// Writes a stored payload decoded, chunk by chunk, with <c>Content-Length</c> from the stored length: a
/// 100 MiB payload passes through one chunk's worth of memory. Corruption found after the headers are sent
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

        long written = 0;
        try
        {
            if (stored.EncodedBody is { } single)
            {
                written += await WriteDecodedAsync(response, single, cancellationToken);
            }
            else
            {
                var next = 0;
                var count = await reader.ReadChunksAsync(
                    stored.PayloadId,
                    async (index, block, token) =>
                    {
                        if (index != next++)
                        {
                            throw new PayloadFormatException($"Chunk {next - 1} is missing (found {index}).");
                        }

                        written += await WriteDecodedAsync(response, block, token);
                    },
                    cancellationToken);
                if (count != stored.ChunkCount)
                {
                    throw new PayloadFormatException($"{count} chunks stored, {stored.ChunkCount} expected.");
                }
            }

            if (written != stored.Length)
            {
                throw new PayloadFormatException($"{written} bytes decoded, {stored.Length} expected.");
            }
        }
        catch (PayloadFormatException ex)
        {
            onCorrupt(ex.Message);
            httpContext.Abort();
        }
    }

    private static async ValueTask<int> WriteDecodedAsync(HttpResponse response, byte[] block, CancellationToken cancellationToken)
    {
        var length = PayloadCodec.GetDecodedLength(block);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            PayloadCodec.Decode(block, buffer);
            await response.Body.WriteAsync(buffer.AsMemory(0, length), cancellationToken);
            return length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
