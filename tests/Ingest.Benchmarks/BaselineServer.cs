using System.Buffers;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Benchmarks;

/// <summary>
/// The ceilings the API is compared with: bare Kestrel that reads the body and answers 202, and the
/// same that also LZ4-encodes the body with <see cref="PayloadCodec"/> in the API's chunks and pooled buffers
/// (the HTTP + compression ceiling, no Kafka). Same host defaults as the API.
/// </summary>
public static class BaselineServer
{
    public static async Task<WebApplication> StartAsync(bool compress, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 200L * 1024 * 1024);
        var app = builder.Build();
        app.MapPost("/v1/sessions/{sessionId}/payloads", async (HttpRequest request, CancellationToken token) =>
        {
            // The API's way: the body read into pooled chunk-sized buffers, each full chunk (and the rest) encoded once.
            const int ChunkBytes = PayloadChunking.DefaultChunkBytes;
            var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            var scratch = compress ? ArrayPool<byte>.Shared.Rent(PayloadCodec.MaxEncodedLength(ChunkBytes)) : null;
            try
            {
                var filled = 0;
                int read;
                while ((read = await request.Body.ReadAsync(chunk.AsMemory(filled, ChunkBytes - filled), token)) > 0)
                {
                    filled += read;
                    if (filled == ChunkBytes)
                    {
                        Encode(chunk, filled, scratch);
                        filled = 0;
                    }
                }

                Encode(chunk, filled, scratch);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
                if (scratch is not null)
                {
                    ArrayPool<byte>.Shared.Return(scratch);
                }
            }

            return Results.StatusCode(StatusCodes.Status202Accepted);
        });
        await app.StartAsync(cancellationToken);
        return app;
    }

    private static void Encode(byte[] chunk, int length, byte[]? scratch)
    {
        if (scratch is not null && length > 0)
        {
            _ = PayloadCodec.Encode(chunk.AsSpan(0, length), scratch);
        }
    }

    public static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}
