using Ingest.Contracts.Codec;
using Ingest.Testing;
using Npgsql;

namespace Ingest.EndToEnd.Tests;

/// <summary>The load generator's <c>--verify</c> passes on a healthy pipeline and catches a corrupted store.</summary>
public sealed class LoadGenTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Verify_passes_on_a_healthy_pipeline_and_fails_when_a_stored_body_is_altered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 4, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        string[] args =
        [
            "--url", pipeline.Api.Address.ToString(), "--key", Pipeline.IngestReadKey, "--sessions", "8", "--payloads", "10",
            "--size", "4KB", "--session-prefix", "lgtest", "--verify", "--verify-timeout", "60", "--json",
        ];

        Assert.Equal(0, await LoadGen.Program.Main(args));
        Assert.Equal(80, await pipeline.StoredCountAsync(ct));

        await using (var connection = new NpgsqlConnection(pipeline.ConnectionString))
        {
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand(
                "UPDATE ingest.payloads SET body = @body WHERE session_id = 'lgtest-00003' AND seq = 4", connection);
            command.Parameters.AddWithValue("body", PayloadCodec.Encode("{\"tampered\":true}"u8));
            Assert.Equal(1, await command.ExecuteNonQueryAsync(ct));
        }

        // The same run again: every payload is a client retry (202, stored once); the altered one reads back wrong.
        Assert.Equal(1, await LoadGen.Program.Main(args));
        Assert.Equal(80, await pipeline.StoredCountAsync(ct));
    }
}
