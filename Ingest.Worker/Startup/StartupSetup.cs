namespace Ingest.Worker.Startup;

/// <summary>Wires the start-up: the checks the consumer waits for, and the milestones' log.</summary>
public static class StartupSetup
{
    /// <summary>Adds <see cref="StartupTimeline"/> and <see cref="WorkerStartup"/> (after the durability check and the store).</summary>
    public static IHostApplicationBuilder AddWorkerStartup(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<StartupTimeline>();
        builder.Services.AddSingleton<WorkerStartup>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<WorkerStartup>());
        return builder;
    }

    /// <summary>Marks <see cref="StartupPhase.HostBuilt"/> now and <see cref="StartupPhase.Listening"/> once the host has started.</summary>
    public static WebApplication UseStartupTimeline(this WebApplication app)
    {
        var timeline = app.Services.GetRequiredService<StartupTimeline>();
        timeline.Mark(StartupPhase.HostBuilt);
        app.Lifetime.ApplicationStarted.Register(() => timeline.Mark(StartupPhase.Listening));
        return app;
    }
}
