using Ingest.Api.Backpressure;
using Ingest.Api.Limits;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>API limits, Kestrel's limits to match, the in-flight budget, per-project limits, the backlog guard, the publisher and the shutdown deadline.</summary>
public static class PayloadSetup
{
    public static WebApplicationBuilder AddPayloadIngest(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>()
            .BindConfiguration(ApiOptions.Section)
            .Configure<IConfiguration>((api, configuration) =>
            {
                // One key for API and workers alike: the workers' Worker:GroupId, unless Api:WorkerGroupId says otherwise.
                if (configuration[$"{ApiOptions.Section}:WorkerGroupId"] is null && configuration["Worker:GroupId"] is { Length: > 0 } group)
                {
                    api.WorkerGroupId = group;
                }
            })
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();

        // Read unvalidated here: Kestrel's and the host's options are built outside start-up validation, which reports a bad value.
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((kestrel, configuration) =>
            KestrelLimits.Apply(kestrel.Limits, Unvalidated(configuration)));

        // Stop accepting, let uploads in progress finish within Api:ShutdownTimeout, then (ProducerLifetime) flush the producer.
        builder.Services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
        {
            var timeout = Unvalidated(configuration).ShutdownTimeout;
            if (timeout > TimeSpan.Zero)
            {
                host.ShutdownTimeout = timeout + KestrelLimits.ProducerFlushAllowance;
            }
        });

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InFlightBudget>();
        builder.Services.AddSingleton<UploadLimiter>();
        builder.Services.AddSingleton<BacklogGuard>();
        builder.Services.AddHostedService<BacklogMonitor>();
        builder.Services.AddSingleton<UploadAbort>();
        builder.Services.AddSingleton<PayloadPublisher>();
        builder.Services.AddSingleton<ShutdownDeadline>();
        return builder;
    }

    private static ApiOptions Unvalidated(IConfiguration configuration) =>
        configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
}
