using Confluent.Kafka;

namespace Ingest.Hosting.Kafka;

/// <summary>Defaults a process puts under the <c>Kafka:*</c> passthrough.</summary>
public static class ClientConfigExtensions
{
    /// <summary>Sets <paramref name="key"/> unless the configuration (an operator's <c>Kafka:*</c> setting) already has it.</summary>
    public static void SetIfAbsent(this ClientConfig config, string key, string value)
    {
        if (config.Get(key) is null)
        {
            config.Set(key, value);
        }
    }
}
