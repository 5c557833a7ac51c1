using Ingest.Faults.Tests.Harness;
using Ingest.Testing;

namespace Ingest.Faults.Tests;

/// <summary>The API killed with uploads in flight, clients vanishing mid-upload, and a flood beyond the in-flight budget.</summary>
[Collection(FaultCollection.Name)]
public sealed class ApiFaultTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public Task Sigkill_with_uploads_in_flight() => Matrix.RunAsync(Cells.ApiKill, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Clients_disconnect_mid_upload() => Matrix.RunAsync(Cells.ClientDisconnects, kafka, postgres, TestContext.Current.CancellationToken);

    [Fact]
    public Task Flood_beyond_the_in_flight_budget() => Matrix.RunAsync(Cells.Flood, kafka, postgres, TestContext.Current.CancellationToken);
}
