using Ingest.Hosting.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Ingest.Hosting.Tests.Kafka;

public sealed class KafkaSettingsValidatorTests
{
    [Fact]
    public void Broker_list_alone_is_valid() => Assert.Empty(Failures(("Kafka:BootstrapServers", "b:9092")));

    [Theory]
    [InlineData(null)]
    [InlineData(" ")]
    public void Missing_broker_list_names_the_key(string? servers)
    {
        var failures = servers is null ? Failures() : Failures(("Kafka:BootstrapServers", servers));

        Assert.Equal("Kafka:BootstrapServers is required (host:port[,host:port…]).", Assert.Single(failures));
    }

    [Theory]
    [InlineData("plaintext")]
    [InlineData("SSL")]
    [InlineData("SASL_PLAINTEXT")]
    [InlineData("sasl_ssl")]
    public void Known_security_protocols_are_valid(string protocol) =>
        Assert.Empty(Failures(("Kafka:BootstrapServers", "b"), ("Kafka:security.protocol", protocol)));

    [Fact]
    public void Unknown_security_protocol_names_the_key_and_the_choices()
    {
        var failure = Assert.Single(Failures(("Kafka:BootstrapServers", "b"), ("Kafka:security.protocol", "TLS")));

        Assert.Equal("Kafka:security.protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; got 'TLS'.", failure);
    }

    [Theory]
    [InlineData(null, "PLAINTEXT (the default)")]
    [InlineData("SSL", "SSL")]
    public void Sasl_credentials_without_a_sasl_protocol_name_both_keys_without_the_values(string? protocol, string named)
    {
        var failures = Failures(
            [("Kafka:BootstrapServers", "b"), ("Kafka:sasl.username", "svc-ingest"), ("Kafka:sasl.password", "pa55word"),
             .. protocol is null ? Array.Empty<(string, string)>() : [("Kafka:security.protocol", protocol)]]);

        var failure = Assert.Single(failures);
        Assert.StartsWith($"Kafka:sasl.password is set but Kafka:security.protocol is {named}:", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("pa55word", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("svc-ingest", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sasl.mechanism", "PLAIN")]
    [InlineData("sasl.mechanisms", "scram-sha-512")]
    public void Password_mechanism_without_credentials_names_each_missing_key(string key, string mechanism)
    {
        var failures = Failures(("Kafka:BootstrapServers", "b"), ("Kafka:security.protocol", "SASL_SSL"), ($"Kafka:{key}", mechanism));

        Assert.Equal(
            [
                $"Kafka:sasl.username is required with SASL mechanism {mechanism.ToUpperInvariant()}.",
                $"Kafka:sasl.password is required with SASL mechanism {mechanism.ToUpperInvariant()}.",
            ],
            failures);
    }

    [Fact]
    public void Complete_sasl_settings_and_gssapi_without_a_password_are_valid()
    {
        Assert.Empty(Failures(
            ("Kafka:BootstrapServers", "b"), ("Kafka:security.protocol", "SASL_SSL"), ("Kafka:sasl.mechanism", "SCRAM-SHA-256"),
            ("Kafka:sasl.username", "u"), ("Kafka:sasl.password", "p")));
        Assert.Empty(Failures(
            ("Kafka:BootstrapServers", "b"), ("Kafka:security.protocol", "SASL_PLAINTEXT"), ("Kafka:sasl.mechanism", "GSSAPI"),
            ("Kafka:sasl.kerberos.service.name", "kafka")));
    }

    [Fact]
    public void Every_failure_is_reported_at_once()
    {
        var failures = Failures(("Kafka:security.protocol", "TLS"), ("Kafka:sasl.username", "u"));

        Assert.Equal(3, failures.Count);
    }

    [Fact]
    public async Task Start_up_fails_naming_the_setting()
    {
        var builder = WebApplication.CreateBuilder(["--urls=http://127.0.0.1:0", "--Kafka:security.protocol=TLS", "--Logging:LogLevel:Default=None"]);
        builder.AddKafkaClients();
        builder.AddKafkaClients(); // twice, as when a process's features each ask for it: one bridge, one validation
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Equal(2, error.Failures.Count());
        Assert.Contains("Kafka:BootstrapServers is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Kafka:security.protocol must be one of", error.Message, StringComparison.Ordinal);
    }

    private static List<string> Failures(params (string Key, string Value)[] settings) =>
        new KafkaSettingsValidator().Validate(null, KafkaSettingsTests.Load(settings)).Failures?.ToList() ?? [];
}
