using System.Diagnostics;
using System.Globalization;

namespace Ingest.Benchmarks;

/// <summary>The raw Confluent.Kafka producer with the API's settings and LZ4 in the loop, for reference.</summary>
public static class ProducerScenario
{
    public static async Task<List<Measurement>> RunAsync(Stack stack, BenchOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var results = new List<Measurement>();
        foreach (var (name, size) in new[] { ("1 KB", 1000L), ("100 KB", 100_000L) })
        {
            var topic = await stack.TopicAsync("bench-producer", cancellationToken);
            var payload = await BenchMessages.ContentAsync(size, 5, cancellationToken);
            using var producer = BenchMessages.Producer(stack);
            using var window = new SemaphoreSlim(512);
            var sent = 0L;
            var failed = 0L;
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
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  producer {name,-8} {rate,10:0.0} msg/s {rate * size / 1e6,8:0.0} MB/s failed {failed}"));
            results.Add(new Measurement(
                $"raw producer {name}", "payloads/s", rate, 0, "reference (no baseline)", null,
                string.Create(CultureInfo.InvariantCulture, $"{rate * size / 1e6:0.0} MB/s, 512 in flight, LZ4 per message, {failed} failed")));
        }

        return results;
    }
}
