using Microsoft.Extensions.Options;

namespace Ingest.Api.Kafka;

/// <summary>Registers the singleton producer and its start/stop.</summary>
public static class KafkaSetup
{
    public static WebApplicationBuilder AddKafkaProducer(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<KafkaSettings>()
            .Configure<IConfiguration>((settings, configuration) => settings.Load(configuration.GetSection(KafkaSettings.Section)))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KafkaSettings>, KafkaSettingsValidator>();
        builder.Services.AddSingleton<ClientEventLog>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ClientEventLog>());
        builder.Services.AddSingleton<PayloadProducer>();
        builder.Services.AddHostedService<ProducerLifetime>();
        builder.Services.AddSingleton<BrokerReadiness>();
        return builder;
    }
}
