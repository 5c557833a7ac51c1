using Ingest.Hosting.Kafka;
using Microsoft.Extensions.Configuration;

namespace Ingest.Hosting.Tests.Kafka;

public sealed class KafkaSettingsTests
{
    [Theory]
    [InlineData("BootstrapServers")]
    [InlineData("bootstrapservers")]
    [InlineData("bootstrap.servers")]
    public void Broker_list_is_read_from_either_key_as_bootstrap_servers(string key)
    {
        var settings = Load(($"Kafka:{key}", "b1:9092,b2:9092"));

        Assert.Equal("b1:9092,b2:9092", settings.BootstrapServers);
        Assert.Equal("b1:9092,b2:9092", Assert.Single(settings.Client).Value);
    }

    [Fact]
    public void Other_keys_pass_as_is_and_other_sections_are_not_read()
    {
        var settings = Load(("Kafka:BootstrapServers", "b"), ("Kafka:security.protocol", "SASL_SSL"), ("Kafka:linger.ms", "20"), ("Worker:GroupId", "g"));

        Assert.Equal(
            new Dictionary<string, string> { ["bootstrap.servers"] = "b", ["security.protocol"] = "SASL_SSL", ["linger.ms"] = "20" },
            settings.Client);
    }

    [Fact]
    public void Producer_client_leaves_consumer_only_properties_out()
    {
        var settings = Load(
            ("Kafka:BootstrapServers", "b"), ("Kafka:group.protocol", "consumer"), ("Kafka:fetch.wait.max.ms", "10"),
            ("Kafka:session.timeout.ms", "45000"), ("Kafka:socket.timeout.ms", "10000"), ("Kafka:ssl.ca.location", "/ca.pem"));

        Assert.Equal(
            new Dictionary<string, string> { ["bootstrap.servers"] = "b", ["socket.timeout.ms"] = "10000", ["ssl.ca.location"] = "/ca.pem" },
            settings.ProducerClient);
    }

    internal static KafkaSettings Load(params (string Key, string Value)[] settings) =>
        new KafkaSettings().Load(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build()
            .GetSection(KafkaSettings.Section));
}
