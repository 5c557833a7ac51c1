using Ingest.Storage.Lifecycle;

namespace Ingest.Worker.Lifecycle;

/// <summary>Wires the data lifecycle's maintenance pass (after <c>AddPayloadStore</c>, which adds the retention policy).</summary>
public static class WorkerLifecycleSetup
{
    /// <summary>Adds the periodic maintenance: partitions ahead, expired and erased data removed, with metrics.</summary>
    public static IHostApplicationBuilder AddLifecycleMaintenance(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<Maintenance>();
        builder.Services.AddSingleton<LifecycleTelemetry>();
        builder.Services.AddHostedService<LifecycleService>();
        return builder;
    }
}
