using Ingest.Testing;

[assembly: AssemblyFixture(typeof(KafkaFixture))]
