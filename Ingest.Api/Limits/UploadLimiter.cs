using System.Threading.RateLimiting;
using Ingest.Api.Auth;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Limits;

/// <summary>Who uploads: the key's project and the key (<c>{project}/{n}</c>).</summary>
public sealed record UploadCaller(string ProjectId, string KeyId);

/// <summary>Why a new upload was refused: which limit, whose (<c>project</c> or <c>key</c>), its value, and when to come back.</summary>
public sealed record LimitRefusal(ApiProblem Problem, string Scope, double Limit, TimeSpan? RetryAfter);

/// <summary>
/// Per-project and per-key limits on uploads, as partitioned limiters of System.Threading.RateLimiting: a
/// <see cref="ConcurrencyLimiter"/> (uploads at once), a <see cref="TokenBucketRateLimiter"/> of requests and one of
/// decoded bytes, each partitioned by project (<c>Api:ProjectLimits</c> with <c>Ingest:Projects:{p}:Limits</c>) and by key
/// (<c>Ingest:Projects:{p}:Keys:{n}:Limits</c>). A caller over a limit is refused (429) without touching another
/// project's partitions, so one project's flood never answers 429 to another.
/// </summary>
public sealed class UploadLimiter : IAsyncDisposable
{
    /// <summary>The bucket of a byte limit holds at least this much, the most one read takes at once.</summary>
    public const int MinByteBurst = 64 * 1024;

    private static readonly TimeSpan ByteReplenishment = TimeSpan.FromMilliseconds(100);

    /// <summary>A byte bucket holds one second's worth: a refused upload may come back after about that.</summary>
    private static readonly TimeSpan ByteRetryAfter = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, UploadLimitOptions> _projects;
    private readonly Dictionary<string, UploadLimitOptions> _keys;
    private readonly UploadLimitOptions _defaults;
    private readonly PartitionedRateLimiter<string> _concurrency;
    private readonly PartitionedRateLimiter<string> _requests;
    private readonly PartitionedRateLimiter<string> _bytes;

    public UploadLimiter(IOptions<ApiOptions> api, IOptions<IngestOptions> ingest)
    {
        _defaults = api.Value.ProjectLimits;
        _projects = ingest.Value.Projects.ToDictionary(p => p.Key, p => _defaults.With(p.Value.Limits), StringComparer.Ordinal);
        _keys = ingest.Value.Projects
            .SelectMany(p => p.Value.Keys.Select((key, n) => (Id: Auth.ApiKeyRegistry.KeyIdOf(p.Key, n), key.Limits)))
            .Where(k => k.Limits is not null)
            .ToDictionary(k => k.Id, k => k.Limits!, StringComparer.Ordinal);
        _concurrency = Partitioned(limits => limits.MaxConcurrentUploads is { } max
            ? () => new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = max, QueueLimit = 0 })
            : null);
        _requests = Partitioned(limits => limits.RequestsPerSecond is > 0 and var rate ? () => RequestBucket(rate, limits.RequestBurst) : null);
        _bytes = Partitioned(limits => limits.BytesPerSecond is > 0 and var rate ? () => ByteBucket(rate) : null);
    }

    /// <summary>The limits that apply to <paramref name="projectId"/>.</summary>
    public UploadLimitOptions ProjectLimits(string projectId) => _projects.GetValueOrDefault(projectId, _defaults);

    /// <summary>
    /// Admits a new upload: a concurrency permit (held until the admission is disposed), a request token, and a look at
    /// the byte buckets (a new upload is refused while its project's or key's bucket is empty or has uploads waiting on
    /// it); or why not.
    /// </summary>
    public UploadAdmission Admit(UploadCaller caller)
    {
        var partitions = Partitions(caller);
        var held = new List<RateLimitLease>(2);
        try
        {
            foreach (var (partition, scope) in partitions)
            {
                var lease = _concurrency.AttemptAcquire(partition);
                if (!lease.IsAcquired)
                {
                    lease.Dispose();
                    return Refused(new LimitRefusal(ApiProblem.ConcurrencyLimit, scope, Limits(scope, caller).MaxConcurrentUploads ?? 0, null));
                }

                held.Add(lease);
            }

            foreach (var (partition, scope) in partitions)
            {
                using var lease = _requests.AttemptAcquire(partition);
                if (!lease.IsAcquired)
                {
                    return Refused(new LimitRefusal(ApiProblem.RateLimit, scope, Limits(scope, caller).RequestsPerSecond ?? 0, RetryAfter(lease)));
                }
            }

            foreach (var (partition, scope) in partitions)
            {
                // Over its byte rate: the bucket is empty, or uploads in progress already wait for it to refill.
                if (_bytes.GetStatistics(partition) is { } bytes && (bytes.CurrentQueuedCount > 0 || bytes.CurrentAvailablePermits <= 0))
                {
                    return Refused(new LimitRefusal(ApiProblem.ByteRateLimit, scope, Limits(scope, caller).BytesPerSecond ?? 0, ByteRetryAfter));
                }
            }

            var admission = new UploadAdmission(this, partitions, held, null);
            held = [];
            return admission;
        }
        finally
        {
            foreach (var lease in held)
            {
                lease.Dispose();
            }
        }

        UploadAdmission Refused(LimitRefusal refusal) => new(this, [], [], refusal);
    }

    /// <summary>Takes <paramref name="bytes"/> from the caller's byte buckets, waiting while they are empty (the caller reads no more meanwhile).</summary>
    internal async ValueTask ConsumeBytesAsync(IReadOnlyList<(string Partition, string Scope)> partitions, int bytes, CancellationToken cancellationToken)
    {
        foreach (var (partition, _) in partitions)
        {
            for (var left = bytes; left > 0;)
            {
                var take = Math.Min(left, MinByteBurst);
                using var lease = await _bytes.AcquireAsync(partition, take, cancellationToken);
                left -= take;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _concurrency.DisposeAsync();
        await _requests.DisposeAsync();
        await _bytes.DisposeAsync();
    }

    /// <summary>Tokens per second of a token bucket as whole tokens per period: at least one token, at most 10 periods a second.</summary>
    internal static (int Tokens, TimeSpan Period) Replenishment(double perSecond)
    {
        var tokens = (int)Math.Max(1, Math.Round(perSecond / 10));
        return (tokens, TimeSpan.FromSeconds(tokens / perSecond));
    }

    private static TokenBucketRateLimiter RequestBucket(double rate, int? burst)
    {
        var (tokens, period) = Replenishment(rate);
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst ?? (int)Math.Max(1, Math.Ceiling(rate)),
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static TokenBucketRateLimiter ByteBucket(long rate)
    {
        var tokens = (int)Math.Min(int.MaxValue, Math.Max(1, rate / 10));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = (int)Math.Min(int.MaxValue, Math.Max(rate, MinByteBurst)),
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = ByteReplenishment,
            // Uploads in progress queue for bytes (oldest first): a throttled upload waits, it is not refused.
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    private static TimeSpan? RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : null;

    private static (string Partition, string Scope)[] Partitions(UploadCaller caller) =>
        [("project:" + caller.ProjectId, "project"), ("key:" + caller.KeyId, "key")];

    private UploadLimitOptions Limits(string scope, UploadCaller caller) =>
        scope == "key" ? _keys.GetValueOrDefault(caller.KeyId) ?? new UploadLimitOptions() : ProjectLimits(caller.ProjectId);

    /// <summary>
    /// One limiter per partition, from <paramref name="limiterFor"/> (null: that partition has no such limit). The
    /// partitioner runs on every request, so it only describes the partition; the limiter itself is built once, by the
    /// factory, when the partition is first used (a token bucket starts its replenishment timer when built).
    /// </summary>
    private PartitionedRateLimiter<string> Partitioned(Func<UploadLimitOptions, Func<RateLimiter>?> limiterFor) =>
        PartitionedRateLimiter.Create<string, string>(partition =>
        {
            var limits = partition.StartsWith("project:", StringComparison.Ordinal)
                ? ProjectLimits(partition["project:".Length..])
                : _keys.GetValueOrDefault(partition["key:".Length..]);
            return limits is not null && limiterFor(limits) is { } create
                ? RateLimitPartition.Get(partition, _ => create())
                : RateLimitPartition.GetNoLimiter(partition);
        });
}

/// <summary>
/// A new upload let in (its concurrency permits held until disposed, its bytes taken from its byte buckets as they are
/// read), or the refusal.
/// </summary>
public sealed class UploadAdmission : IDisposable
{
    private readonly UploadLimiter _limiter;
    private readonly IReadOnlyList<(string Partition, string Scope)> _partitions;
    private readonly List<RateLimitLease> _leases;

    internal UploadAdmission(
        UploadLimiter limiter, IReadOnlyList<(string Partition, string Scope)> partitions, List<RateLimitLease> leases, LimitRefusal? refusal)
    {
        _limiter = limiter;
        _partitions = partitions;
        _leases = leases;
        Refusal = refusal;
    }

    /// <summary>Null when admitted.</summary>
    public LimitRefusal? Refusal { get; }

    /// <summary>Takes <paramref name="bytes"/> just read from the byte buckets, waiting while they are empty.</summary>
    public ValueTask ConsumeBytesAsync(int bytes, CancellationToken cancellationToken) =>
        _limiter.ConsumeBytesAsync(_partitions, bytes, cancellationToken);

    public void Dispose()
    {
        foreach (var lease in _leases)
        {
            lease.Dispose();
        }

        _leases.Clear();
    }
}
