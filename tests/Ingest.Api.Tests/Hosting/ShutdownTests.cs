using Ingest.Api.Backpressure;
using Ingest.Api.Tests.Payloads;
using Ingest.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Ingest.Api.Tests.Hosting;

/// <summary>Graceful stop: uploads in progress finish (202) within Api:ShutdownTimeout; those that cannot get 503, never stored.</summary>
public sealed class ShutdownTests(KafkaFixture kafka)
{
    [Fact]
    public async Task An_upload_in_progress_when_the_API_stops_finishes_with_202()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-stop", 1, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:ShutdownTimeout=00:00:30", "--Api:ChunkBytes=65536");
        var body = ChunkingTests.Mixed(1_000_000, 4);
        await using var raw = await StartUploadAsync(api, body, ct);

        var stopping = api.App.StopAsync(CancellationToken.None);
        var lifetime = api.App.Services.GetRequiredService<IHostApplicationLifetime>();
        await Eventually.TrueAsync(() => lifetime.ApplicationStopping.IsCancellationRequested, TimeSpan.FromSeconds(30), "stopping", ct);
        await raw.SendAsync(body.AsMemory(300_000), ct);

        Assert.Equal(202, await raw.ReadStatusAsync(ct));
        await stopping.WaitAsync(TimeSpan.FromSeconds(60), ct);
        var produced = Assert.Single(ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out _));
        Assert.Equal(body, produced.Bytes);
    }

    [Fact]
    public async Task An_upload_that_does_not_finish_within_the_shutdown_timeout_gets_503_and_no_last_chunk()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = await kafka.CreateTopicAsync("api-stop-late", 1, ct);
        await using var api = await ApiHost.StartAsync(kafka, topic, Http.UnusedDatabase, ct, "--Api:ShutdownTimeout=00:00:01", "--Api:ChunkBytes=65536");
        await using var raw = await StartUploadAsync(api, ChunkingTests.Mixed(1_000_000, 5), ct);

        var stopping = api.App.StopAsync(CancellationToken.None);

        Assert.Equal(503, await raw.ReadStatusAsync(ct));
        await stopping.WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Empty(ProducedPayload.Reassemble(TopicReader.ReadAll(kafka, topic), out var incomplete));
        Assert.Single(incomplete);
    }

    /// <summary>Sends the head and 300 kB of <paramref name="body"/>, and waits until the API has read them.</summary>
    private static async Task<RawHttp> StartUploadAsync(ApiHost api, byte[] body, CancellationToken ct)
    {
        var raw = await RawHttp.ConnectAsync(api.Address, ct);
        await raw.SendAsync(RawHttp.PostHead("stopping", 0, body.Length), ct);
        await raw.SendAsync(body.AsMemory(0, 300_000), ct);
        var budget = api.App.Services.GetRequiredService<InFlightBudget>();
        await Eventually.TrueAsync(() => budget.InFlight > 0, TimeSpan.FromSeconds(30), "upload started", ct);
        return raw;
    }
}
