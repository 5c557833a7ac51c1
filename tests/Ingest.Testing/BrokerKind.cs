namespace Ingest.Testing;

/// <summary>Where the tests' broker comes from.</summary>
public enum BrokerKind
{
    /// <summary><c>INGEST_TEST_KAFKA</c> names an existing broker.</summary>
    External,

    /// <summary>A Kafka container started by Testcontainers (a Docker engine answered).</summary>
    Container,

    /// <summary>A real Kafka started from <c>../shared/kafka</c> (<see cref="LocalKafka"/>).</summary>
    Local,

    /// <summary>librdkafka's in-process mock cluster.</summary>
    Mock,
}
