using Ingest.Hosting.Kafka;

namespace Ingest.Api.Kafka;

/// <summary>Registers the singleton producer and its start/stop.</summary>
public static class KafkaSetup
{
    public static WebApplicationBuilder AddKafkaProducer(this WebApplicationBuilder builder)
    {
        builder.AddKafkaClients();
        builder.Services.AddSingleton<PayloadProducer>();
        builder.Services.AddHostedService<ProducerLifetime>();
        builder.Services.AddSingleton<BrokerReadiness>();
        return builder;
    }
}
