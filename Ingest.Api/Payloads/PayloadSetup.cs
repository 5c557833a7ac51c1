using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>API limits, Kestrel's body limit to match, and the publisher.</summary>
public static class PayloadSetup
{
    public static WebApplicationBuilder AddPayloadIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>()
            .BindConfiguration(ApiOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();

        // Kestrel's default (30 MB) would refuse large payloads before we see them. A compressed body of
        // incompressible data is slightly larger than its content; the slack covers gzip/LZ4 framing.
        // Read unvalidated here: Kestrel's options are built outside start-up validation, which reports a bad value.
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((kestrel, configuration) =>
        {
            var max = configuration.GetSection(ApiOptions.Section).Get<ApiOptions>()?.MaxPayloadBytes ?? new ApiOptions().MaxPayloadBytes;
            if (max is > 0 and <= ApiOptionsValidator.MaxPayloadBytesCeiling)
            {
                kestrel.Limits.MaxRequestBodySize = max + (max / 128) + (64 * 1024);
            }
        });

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<PayloadPublisher>();
        return builder;
    }
}
