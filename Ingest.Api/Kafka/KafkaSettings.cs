using Microsoft.Extensions.Options;

namespace Ingest.Api.Kafka;

/// <summary>
/// The <c>Kafka</c> configuration section as librdkafka settings: <c>Kafka:BootstrapServers</c> becomes
/// <c>bootstrap.servers</c>, every other key (<c>Kafka:security.protocol</c>, <c>Kafka:message.max.bytes</c>, …)
/// is passed as is, so TLS/SASL and tuning need no code change.
/// </summary>
public sealed class KafkaSettings
{
    public const string Section = "Kafka";

    /// <summary>librdkafka property name → value.</summary>
    public Dictionary<string, string> Client { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads <paramref name="section"/> into <see cref="Client"/>.</summary>
    public KafkaSettings Load(IConfiguration section)
    {
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                Client[key == "BootstrapServers" ? "bootstrap.servers" : key] = value;
            }
        }

        return this;
    }
}

/// <summary>Fails start-up without a broker address.</summary>
public sealed class KafkaSettingsValidator : IValidateOptions<KafkaSettings>
{
    public ValidateOptionsResult Validate(string? name, KafkaSettings options) =>
        options.Client.TryGetValue("bootstrap.servers", out var servers) && !string.IsNullOrWhiteSpace(servers)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{KafkaSettings.Section}:BootstrapServers is required (host:port[,host:port…]).");
}
