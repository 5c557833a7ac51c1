using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ingest.Storage.Lifecycle;

/// <summary>Registers <see cref="LifecycleOptions"/> and the <see cref="RetentionPolicy"/>, both checked at start-up.</summary>
public static class LifecycleSetup
{
    /// <summary>
    /// Binds <c>Ingest:Lifecycle</c> and every <c>Ingest:Projects:{project}:Retention</c>; start-up fails, naming the key, on
    /// a value out of range.
    /// </summary>
    public static IHostApplicationBuilder AddRetentionPolicy(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<LifecycleOptions>()
            .Bind(builder.Configuration.GetSection(LifecycleOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LifecycleOptions>>(
            new LifecycleOptionsValidator(builder.Configuration)));
        services.TryAddSingleton(provider => RetentionPolicy.Read(
            builder.Configuration, provider.GetRequiredService<IOptions<LifecycleOptions>>().Value.DefaultRetention, []));
        return builder;
    }
}

/// <summary>Checks <see cref="LifecycleOptions"/> and the projects' retentions, naming each key that is wrong.</summary>
internal sealed class LifecycleOptionsValidator(Microsoft.Extensions.Configuration.IConfiguration configuration) : IValidateOptions<LifecycleOptions>
{
    /// <summary>Live partitions per table at most: beyond, planning and catalog costs grow for every query.</summary>
    public const int MaxPartitions = 1000;

    public ValidateOptionsResult Validate(string? name, LifecycleOptions options)
    {
        var errors = new List<string>();
        if (!RetentionPolicy.IsValid(options.DefaultRetention))
        {
            errors.Add($"{LifecycleOptions.Section}:DefaultRetention must be above zero and at most 3650 days, not {options.DefaultRetention}.");
        }

        if (options.CheckInterval < TimeSpan.FromSeconds(1) || options.CheckInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{LifecycleOptions.Section}:CheckInterval must be between 00:00:01 and 01:00:00, not {options.CheckInterval}.");
        }

        if (options.PartitionInterval < TimeSpan.FromMinutes(1) || options.PartitionInterval > TimeSpan.FromDays(31))
        {
            errors.Add($"{LifecycleOptions.Section}:PartitionInterval must be between 00:01:00 and 31.00:00:00, not {options.PartitionInterval}.");
        }

        var policy = RetentionPolicy.Read(configuration, options.DefaultRetention, errors);
        if (options.PartitionInterval >= TimeSpan.FromMinutes(1) && policy.Longest / options.PartitionInterval > MaxPartitions)
        {
            errors.Add($"{LifecycleOptions.Section}:PartitionInterval ({options.PartitionInterval}) would need more than {MaxPartitions} partitions "
                + $"for the longest retention ({policy.Longest}): make it at least {policy.Longest / MaxPartitions:c}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
