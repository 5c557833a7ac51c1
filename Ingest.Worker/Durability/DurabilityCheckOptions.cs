namespace Ingest.Worker.Durability;

/// <summary>The start-up check of the payload topic's settings, from the <c>Worker</c> section.</summary>
public sealed class DurabilityCheckOptions
{
    /// <summary>The configuration section: the worker's own.</summary>
    public const string Section = Consuming.WorkerOptions.Section;

    /// <summary>
    /// <c>Worker:CheckTopicDurability</c>: check the payload topic's settings at start-up and refuse to start when they
    /// contradict durability. Default true; false skips the check (logged).
    /// </summary>
    public bool CheckTopicDurability { get; set; } = true;

    /// <summary>
    /// <c>Worker:OutagePromise</c>: the longest worker outage the deployment promises to survive without loss; a topic
    /// whose <c>retention.ms</c> is shorter draws a warning. Default 7 days, the retention <c>topics ensure</c> and
    /// compose give the topic.
    /// </summary>
    public TimeSpan OutagePromise { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>Wires the check; <see cref="Startup.WorkerStartup"/> runs it before the consumer subscribes.</summary>
public static class DurabilitySetup
{
    /// <summary>Adds <see cref="TopicDurabilityCheck"/> and its options.</summary>
    public static IHostApplicationBuilder AddTopicDurabilityCheck(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DurabilityCheckOptions>()
            .Bind(builder.Configuration.GetSection(DurabilityCheckOptions.Section))
            .Validate(
                o => o.OutagePromise > TimeSpan.Zero,
                "Worker:OutagePromise must be a positive time span, e.g. 7.00:00:00.")
            .ValidateOnStart();
        builder.Services.AddSingleton<TopicDurabilityCheck>();
        return builder;
    }
}
