using Ingest.Contracts.Codec;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Benchmarks;

/// <summary>
/// The ceilings the API is compared with: bare Kestrel that reads the body and answers 202, and the
/// same that also LZ4-encodes the body with <see cref="PayloadCodec"/> (the HTTP + compression ceiling,
/// no Kafka). Same host defaults as the API.
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
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, token);
            if (compress)
            {
                _ = PayloadCodec.Encode(body.GetBuffer().AsSpan(0, (int)body.Length));
            }

            return Results.StatusCode(StatusCodes.Status202Accepted);
        });
        await app.StartAsync(cancellationToken);
        return app;
    }

    public static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}
