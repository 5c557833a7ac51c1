using System.Diagnostics;
using System.Globalization;

namespace Ingest.Benchmarks;

/// <summary>The raw Confluent.Kafka producer with the API's settings and LZ4 in the loop, for reference.</summary>
public static class ProducerScenario
{
    public static async Task<List<Measurement>> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var results = new List<Measurement>();
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
            var cpu = string.Create(CultureInfo.InvariantCulture,
                $"CPU per message: producer {perMessage(selfCpu):0.0} µs, broker {(brokerCpu is { } bc ? perMessage(bc).ToString("0.0", CultureInfo.InvariantCulture) : "n/a")} µs; machine {machine:0.00} of {Environment.ProcessorCount} cores busy");
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  producer {name,-8} {rate,10:0.0} msg/s {rate * size / 1e6,8:0.0} MB/s failed {failed}; {cpu}"));
            results.Add(new Measurement(
                $"raw producer {name}", "payloads/s", rate, 0, "reference (no baseline)", null,
                string.Create(CultureInfo.InvariantCulture, $"{rate * size / 1e6:0.0} MB/s, 512 in flight, LZ4 per message, {failed} failed; {cpu} ({broker.Description})")));
        }

        return results;
    }
}
