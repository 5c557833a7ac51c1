using System.Diagnostics;
using System.Globalization;
using Ingest.Contracts.Codec;

namespace Ingest.Benchmarks;

/// <summary>What producing one message of <paramref name="Size"/> bytes cost, in CPU microseconds.</summary>
/// <param name="Size">The payload's size before encoding.</param>
/// <param name="Producer">This process per message: building it (LZ4, XxHash3, the envelope) and librdkafka's threads.</param>
/// <param name="Encode">Of <paramref name="Producer"/>, LZ4-encoding the payload as the Kestrel + LZ4 baselines do it.</param>
/// <param name="Broker">The broker per message, when measurable.</param>
public sealed record ProducerCost(long Size, double Producer, double Encode, double? Broker)
{
    /// <summary>What producing adds to a server that already LZ4-encodes (the baselines): the producer less LZ4, plus the broker.</summary>
    public double Kafka => Producer - Encode + (Broker ?? 0);
}

/// <summary>The raw Confluent.Kafka producer with the API's settings and LZ4 in the loop, for reference.</summary>
public static class ProducerScenario
{
    public static async Task<(List<Measurement> Measurements, List<ProducerCost> Costs)> RunAsync(
        Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var results = new List<Measurement>();
        var costs = new List<ProducerCost>();
        var broker = BrokerProbe.For(stack);
        // 256 KiB: the API's chunk (ApiOptions.ChunkBytes), what a 10 MB upload is produced as.
        foreach (var (name, size) in new[] { ("1 KB", 1000L), ("100 KB", 100_000L), ("256 KiB", 262_144L) })
        {
            var topic = await stack.TopicAsync("bench-producer", cancellationToken);
            var payload = await BenchMessages.ContentAsync(size, 5, cancellationToken);
            using var producer = BenchMessages.Producer(stack);
            using var window = new SemaphoreSlim(512);
            var sent = 0L;
            var failed = 0L;
            var (self0, broker0, machine0) = (ProcessCpu.OfProcess(Environment.ProcessId) ?? TimeSpan.Zero, broker.Read(), ProcessCpu.MachineBusy());
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < options.RateDuration)
            {
                await window.WaitAsync(cancellationToken);
                var seq = sent++;
                producer.Produce(topic, BenchMessages.Build($"p{seq % 512}", seq, payload), report =>
                {
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref failed);
                    }

                    window.Release();
                });
            }

            producer.Flush(cancellationToken);
            var seconds = clock.Elapsed.TotalSeconds;
            var rate = (sent - failed) / seconds;
            // CPU per message: this process (the loop, LZ4 and librdkafka's threads; an embedded broker's thread left out) and
            // the broker where measurable: what producing costs the API on top of serving the request.
            var brokerCpu = broker.Read() is { } b1 && broker0 is { } b0 ? b1 - b0 : (TimeSpan?)null;
            var selfCpu = (ProcessCpu.OfProcess(Environment.ProcessId) ?? TimeSpan.Zero) - self0 - (broker.InThisProcess ? brokerCpu ?? TimeSpan.Zero : TimeSpan.Zero);
            var machine = (ProcessCpu.MachineBusy() - machine0).TotalSeconds / seconds;
            var perMessage = (TimeSpan t) => t.TotalMicroseconds / Math.Max(1, sent - failed);
            var encode = EncodeMicroseconds(payload, options.Smoke ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(2));
            var cost = new ProducerCost(size, perMessage(selfCpu), encode, brokerCpu is { } bc ? perMessage(bc) : null);
            costs.Add(cost);
            var cpu = string.Create(CultureInfo.InvariantCulture,
                $"CPU per message: producer {cost.Producer:0.0} µs (of which LZ4 as the baselines encode: {cost.Encode:0.0} µs), broker {(cost.Broker is { } b ? b.ToString("0.0", CultureInfo.InvariantCulture) : "n/a")} µs; machine {machine:0.00} of {Environment.ProcessorCount} cores busy");
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  producer {name,-8} {rate,10:0.0} msg/s {rate * size / 1e6,8:0.0} MB/s failed {failed}; {cpu}"));
            results.Add(new Measurement(
                $"raw producer {name}", "payloads/s", rate, 0, "reference (no baseline)", null,
                string.Create(CultureInfo.InvariantCulture, $"{rate * size / 1e6:0.0} MB/s, 512 in flight, LZ4 per message, {failed} failed; {cpu} ({broker.Description})")));
        }

        return (results, costs);
    }

    /// <summary>
    /// CPU per message of LZ4-encoding <paramref name="payload"/> as the Kestrel + LZ4 baselines do (<see cref="PayloadCodec"/>
    /// into a reused buffer), timed on this thread alone once tiered compilation has settled: the part of the producer's CPU
    /// that the baselines share, so that what producing adds on top of them can be told apart.
    /// </summary>
    private static double EncodeMicroseconds(byte[] payload, TimeSpan duration)
    {
        var scratch = new byte[PayloadCodec.MaxEncodedLength(payload.Length)];
        for (var warm = Stopwatch.StartNew(); warm.Elapsed < duration / 4;)
        {
            _ = PayloadCodec.Encode(payload, scratch);
        }

        var count = 0;
        var clock = Stopwatch.StartNew();
        var cpu = ProcessCpu.OfCurrentThread();
        while (clock.Elapsed < duration)
        {
            _ = PayloadCodec.Encode(payload, scratch);
            count++;
        }

        return (ProcessCpu.OfCurrentThread() - cpu).TotalMicroseconds / count;
    }
}
