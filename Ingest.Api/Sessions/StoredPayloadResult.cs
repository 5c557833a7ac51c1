using System.Buffers;
using Ingest.Contracts.Codec;

namespace Ingest.Api.Sessions;

/// <summary>
/// Writes a stored payload decoded, chunk by chunk, with <c>Content-Length</c> from the stored length: a
/// 100 MiB payload passes through one chunk's worth of memory. Corruption found after the headers are sent
/// aborts the connection, so a client never takes a short or altered body for the payload.
/// </summary>
public sealed class StoredPayloadResult(StoredPayload stored, SessionReader reader, Action<string> onCorrupt) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var cancellationToken = httpContext.RequestAborted;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = stored.ContentType;
        response.ContentLength = stored.Length;
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
