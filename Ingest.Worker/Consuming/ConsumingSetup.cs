using Ingest.Hosting.Kafka;
using Ingest.Worker.DeadLetter;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Consuming;

/// <summary>Wires the Kafka consumer, its lanes and the dead-letter producer.</summary>
public static class ConsumingSetup
{
    /// <summary>Adds the payload consumer (one per process) as a hosted service.</summary>
    public static IHostApplicationBuilder AddPayloadConsumer(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
        services.AddOptions<WorkerOptions>().Bind(builder.Configuration.GetSection(WorkerOptions.Section)).ValidateOnStart();
        builder.AddKafkaClients(); // the shared Kafka:* settings (validated there) and the client log
        services.AddOptions<KafkaOptions>()
            .Configure<IOptions<KafkaSettings>>((options, kafka) => options.Load(kafka.Value, builder.Configuration))
            .Validate(options => !string.IsNullOrWhiteSpace(options.Topic), $"{KafkaOptions.TopicKey} must not be empty.")
            .ValidateOnStart();

        // The drain on shutdown must fit inside the host's own shutdown timeout (30 s by default).
        services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
        {
            var worker = new WorkerOptions();
            configuration.GetSection(WorkerOptions.Section).Bind(worker);
            var needed = worker.ShutdownDrainTimeout + TimeSpan.FromSeconds(15);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });

        services.AddSingleton<DeadLetterProducer>();
        services.AddSingleton<SharedTransactions>();
        services.AddSingleton<IBatchSink, BatchSink>();
        services.AddSingleton<BatchProcessor>();
        services.AddSingleton<PayloadConsumer>();
        services.AddHostedService<PayloadConsumerService>();
        return builder;
    }
}
