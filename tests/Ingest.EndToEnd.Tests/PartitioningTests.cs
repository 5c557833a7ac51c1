using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ingest.Contracts.Identity;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>The partition the API's producer picks is the one the documented partitioner computes.</summary>
public sealed class PartitioningTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Accepted_payload_lands_on_the_partition_SessionKey_computes()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Partitions = 7;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, Partitions, ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);

        for (var i = 0; i < 40; i++)
        {
            var session = $"part-{i}";
            using var response = await Payloads.PostAsync(client, session, 0, Payloads.Make(session, 0, 64), ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            using var body = await response.Content.ReadFromJsonAsync<JsonDocument>(ct);
            Assert.Equal(
                SessionKey.PartitionFor(SessionKey.For(Pipeline.Project, session), Partitions),
                body!.RootElement.GetProperty("partition").GetInt32());
        }
    }
}
