using System.Collections.Concurrent;
using HdrHistogram;

namespace Ingest.LoadGen;

/// <summary>What a run observed: per-status counts, bytes, 202 latency, and what was accepted (for verification).</summary>
public sealed class LoadResult
{
    private readonly Lock _gate = new();
    private long _accepted;
    private long _bytes;
    private long _retries;

    /// <summary>202 latency in microseconds, 1 µs … 10 min.</summary>
    public LongHistogram Latency { get; } = new(TimeSpan.FromMinutes(10).Ticks / 10, 3);

    public ConcurrentDictionary<int, long> Refused { get; } = new();

    public ConcurrentDictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

    /// <summary>(session, seq) → (length, XxHash3) of every accepted payload.</summary>
    public ConcurrentDictionary<(string Session, long Seq), (long Length, ulong Checksum)> AcceptedPayloads { get; } = new();

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Retries => Interlocked.Read(ref _retries);

    public TimeSpan Elapsed { get; set; }

    public void RecordAccepted(string session, long seq, long length, ulong checksum, long microseconds)
    {
        AcceptedPayloads[(session, seq)] = (length, checksum);
        Interlocked.Increment(ref _accepted);
        Interlocked.Add(ref _bytes, length);
        lock (_gate)
        {
            Latency.RecordValue(Math.Max(1, microseconds));
        }
    }

    public void RecordRefused(int status) => Refused.AddOrUpdate(status, 1, (_, n) => n + 1);

    public void RecordRetry() => Interlocked.Increment(ref _retries);

    public void RecordFailure(string reason) => Failures.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public double Percentile(double p)
    {
        lock (_gate)
        {
            return Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(p) / 1000.0;
        }
    }
}
