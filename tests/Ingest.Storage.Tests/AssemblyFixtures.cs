using Ingest.Testing;

[assembly: AssemblyFixture(typeof(PostgresFixture))]
