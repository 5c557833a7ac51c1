using Ingest.Testing;

[assembly: AssemblyFixture(typeof(KafkaFixture))]
[assembly: AssemblyFixture(typeof(PostgresFixture))]
