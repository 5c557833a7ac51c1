using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ingest.Hosting.Kafka;

/// <summary>Registers what every Kafka client of a process shares (Aspire's <c>AddKafkaProducer</c>, minus the client).</summary>
public static class KafkaSetup
{
    /// <summary>
    /// Adds <see cref="KafkaSettings"/> bound from the <c>Kafka</c> section and validated at start-up, and the
    /// <see cref="KafkaClientLog"/> bridge. Call it before adding the clients: hosted services stop in reverse order,
    /// so the bridge still writes the clients' last words. Calling it again changes nothing.
    /// </summary>
    public static IHostApplicationBuilder AddKafkaClients(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(service => service.ServiceType == typeof(KafkaClientLog)))
        {
            return builder;
        }

        services.AddOptions<KafkaSettings>()
            .Configure<IConfiguration>((settings, configuration) => settings.Load(configuration.GetSection(KafkaSettings.Section)))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaSettings>, KafkaSettingsValidator>());
        services.AddSingleton<KafkaClientLog>();
        services.AddHostedService(provider => provider.GetRequiredService<KafkaClientLog>());
        return builder;
    }
}
