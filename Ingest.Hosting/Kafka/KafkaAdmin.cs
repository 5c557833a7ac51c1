using Confluent.Kafka;

namespace Ingest.Hosting.Kafka;

/// <summary>Admin clients for the processes' own checks (topic settings, retention, backlog).</summary>
public static class KafkaAdmin
{
    /// <summary>
    /// An admin client on the <c>Kafka:*</c> settings (consumer-only properties left out) that never creates a topic by
    /// asking for it. Its log and errors are dropped: the processes' client tuning means nothing to an admin client, and
    /// its "ignored" warnings would bury the log; failures surface as exceptions to the caller.
    /// </summary>
    public static IAdminClient Create(KafkaSettings kafka, string clientId)
    {
        var config = new AdminClientConfig(kafka.ProducerClient) { ClientId = clientId };
        config.Set("allow.auto.create.topics", "false");
        return new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
    }
}
