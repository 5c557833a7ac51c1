using Ingest.Api.Payloads;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Kafka;

/// <summary>
/// Builds the producer at start-up (bad <c>Kafka:*</c> settings fail start-up, not the first request) and
/// flushes it with a deadline on shutdown. The web server stops first, so no request is still producing.
/// </summary>
public sealed class ProducerLifetime(PayloadProducer producer, IOptions<ApiOptions> api) : IHostedService
{
    /// <summary>Longest a shutdown waits for queued messages; bounded by the host's own shutdown timeout.</summary>
    private static readonly TimeSpan MaxFlush = TimeSpan.FromSeconds(10);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var deadline = api.Value.DeliveryTimeout < MaxFlush ? api.Value.DeliveryTimeout : MaxFlush;
        return Task.Run(() => producer.FlushAndClose(deadline), CancellationToken.None).WaitAsync(cancellationToken);
    }
}
