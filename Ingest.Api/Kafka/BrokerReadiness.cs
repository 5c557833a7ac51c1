using Confluent.Kafka;
using Ingest.Api.Auth;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Kafka;

/// <summary>Whether the API can take payloads now, and why not.</summary>
public sealed record Readiness(bool IsReady, string Reason);

/// <summary>
/// Readiness of the Kafka side: the producer is not being rebuilt and a broker answers a metadata request
/// for the payload topic on the producer's own connections. Probes are cached for a second so a busy
/// load balancer does not turn into a metadata storm.
/// </summary>
public sealed class BrokerReadiness(PayloadProducer producer, IOptions<IngestOptions> ingest, TimeProvider time, ILogger<BrokerReadiness> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _probe = new(1, 1);
    private (long At, Readiness Result)? _last;

    public async Task<Readiness> CheckAsync(CancellationToken cancellationToken)
    {
        if (producer.IsRebuilding)
        {
            return new Readiness(false, "The Kafka producer is being rebuilt after a fatal error.");
        }

        if (Fresh() is { } cached)
        {
            return cached;
        }

        await _probe.WaitAsync(cancellationToken);
        try
        {
            if (Fresh() is { } probedMeanwhile)
            {
                return probedMeanwhile;
            }

            // GetMetadata blocks up to its timeout; keep it off the request thread pool's hot path.
            var result = await Task.Run(Probe, cancellationToken);
            if (result.IsReady != (_last?.Result.IsReady ?? true))
            {
                Log.ReadinessChanged(logger, result.IsReady, result.Reason);
            }

            _last = (time.GetTimestamp(), result);
            return result;
        }
        finally
        {
            _probe.Release();
        }
    }

    private Readiness? Fresh() =>
        _last is { } last && time.GetElapsedTime(last.At) < CacheFor ? last.Result : null;

    private Readiness Probe()
    {
        try
        {
            using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
            var metadata = admin.GetMetadata(ingest.Value.Topic, MetadataTimeout);
            return metadata.Brokers.Count > 0
                ? new Readiness(true, $"{metadata.Brokers.Count} brokers reachable.")
                : new Readiness(false, "The cluster reported no brokers.");
        }
        catch (KafkaException ex)
        {
            return new Readiness(false, $"No broker answered a metadata request within {MetadataTimeout.TotalSeconds:0} s ({ex.Error.Reason}).");
        }
        catch (ObjectDisposedException)
        {
            return new Readiness(false, "The Kafka producer is being replaced.");
        }
    }
}
