using Microsoft.Extensions.Options;

namespace Ingest.Hosting.Kafka;

/// <summary>
/// Fails start-up on <c>Kafka:*</c> settings no client can work with, naming the setting: no broker list, an unknown
/// <c>security.protocol</c>, SASL credentials that would never be sent, a SASL mechanism without its credentials.
/// librdkafka refuses some of these itself, but only when a client is built and in its own words; values of
/// <c>sasl.*</c> settings are never echoed.
/// </summary>
public sealed class KafkaSettingsValidator : IValidateOptions<KafkaSettings>
{
    private const string Prefix = KafkaSettings.Section + ":";
    private static readonly string[] Protocols = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
    private static readonly string[] PasswordMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

    public ValidateOptionsResult Validate(string? name, KafkaSettings options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            failures.Add($"{KafkaSettings.BootstrapServersKey} is required (host:port[,host:port…]).");
        }

        var protocol = options.Client.GetValueOrDefault("security.protocol")?.Trim();
        if (protocol is not null && !Protocols.Contains(protocol, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"{Prefix}security.protocol must be one of {string.Join(", ", Protocols)}; got '{protocol}'.");
        }

        var usesSasl = protocol?.StartsWith("SASL_", StringComparison.OrdinalIgnoreCase) == true;
        var sasl = options.Client.Keys.Where(k => k.StartsWith("sasl.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (!usesSasl && sasl.Count > 0)
        {
            failures.Add($"{Prefix}{sasl[0]} is set but {Prefix}security.protocol is {protocol ?? "PLAINTEXT (the default)"}: " +
                "SASL settings are used only with SASL_SSL or SASL_PLAINTEXT.");
        }

        var mechanism = (options.Client.GetValueOrDefault("sasl.mechanism") ?? options.Client.GetValueOrDefault("sasl.mechanisms"))?.Trim();
        if (usesSasl && mechanism is not null && PasswordMechanisms.Contains(mechanism, StringComparer.OrdinalIgnoreCase))
        {
            foreach (var credential in (string[])["sasl.username", "sasl.password"])
            {
                if (string.IsNullOrEmpty(options.Client.GetValueOrDefault(credential)))
                {
                    failures.Add($"{Prefix}{credential} is required with SASL mechanism {mechanism.ToUpperInvariant()}.");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
