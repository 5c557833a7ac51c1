using System.Globalization;

namespace Ingest.Api.Limits;

/// <summary>
/// Limits on the uploads of one project (<c>Api:ProjectLimits</c> for every project, <c>Ingest:Projects:{p}:Limits</c>
/// for one) or of one key (<c>Ingest:Projects:{p}:Keys:{n}:Limits</c>). Unset members of a project's limits take the
/// <c>Api:ProjectLimits</c> value; unset members of a key's limits mean no limit for the key beyond its project's.
/// </summary>
public sealed class UploadLimitOptions
{
    /// <summary>Uploads (payload POSTs) at once; one more is answered 429 <c>concurrency-limit</c>.</summary>
    public int? MaxConcurrentUploads { get; set; }

    /// <summary>Payload POSTs per second (a token bucket); 0 = no limit. Beyond it: 429 <c>rate-limit</c>.</summary>
    public double? RequestsPerSecond { get; set; }

    /// <summary>POSTs that may come at once after a quiet spell (the bucket's size). Default: one second's worth.</summary>
    public int? RequestBurst { get; set; }

    /// <summary>
    /// Decoded bytes per second read from the uploads (a token bucket of one second's worth, at least 64 KiB); 0 = no
    /// limit. Uploads in progress beyond it are read more slowly (TCP slows their clients); a new upload that finds the
    /// bucket empty is answered 429 <c>byte-rate-limit</c>.
    /// </summary>
    public long? BytesPerSecond { get; set; }

    /// <summary>
    /// Share of <c>Api:InFlightBudgetBytes</c> one project's uploads may hold (project limits only; at least one chunk).
    /// A project at its share waits (uploads in progress) or gets 429 <c>inflight-share-spent</c> (new uploads); other
    /// projects go on.
    /// </summary>
    public double? BudgetShare { get; set; }

    /// <summary>Members set in <paramref name="overrides"/> replace those here.</summary>
    public UploadLimitOptions With(UploadLimitOptions? overrides) => overrides is null
        ? this
        : new UploadLimitOptions
        {
            MaxConcurrentUploads = overrides.MaxConcurrentUploads ?? MaxConcurrentUploads,
            RequestsPerSecond = overrides.RequestsPerSecond ?? RequestsPerSecond,
            RequestBurst = overrides.RequestBurst ?? RequestBurst,
            BytesPerSecond = overrides.BytesPerSecond ?? BytesPerSecond,
            BudgetShare = overrides.BudgetShare ?? BudgetShare,
        };

    /// <summary>Adds a message naming <paramref name="prefix"/>'s key to <paramref name="failures"/> for each bad member.</summary>
    public void Validate(string prefix, bool isKey, List<string> failures)
    {
        if (MaxConcurrentUploads is < 1 or > 1_000_000)
        {
            failures.Add($"{prefix}:MaxConcurrentUploads must be between 1 and 1000000; got {Text(MaxConcurrentUploads)}.");
        }

        if (RequestsPerSecond is { } rate && !(rate >= 0 && rate <= 1_000_000))
        {
            failures.Add($"{prefix}:RequestsPerSecond must be between 0 (no limit) and 1000000; got {Text(RequestsPerSecond)}.");
        }

        if (RequestBurst is < 1 or > 1_000_000)
        {
            failures.Add($"{prefix}:RequestBurst must be between 1 and 1000000; got {Text(RequestBurst)}.");
        }

        if (BytesPerSecond is < 0 or > (1L << 40) or (> 0 and < 1024))
        {
            failures.Add($"{prefix}:BytesPerSecond must be 0 (no limit) or between 1024 and {1L << 40}; got {Text(BytesPerSecond)}.");
        }

        if (isKey && BudgetShare is not null)
        {
            failures.Add($"{prefix}:BudgetShare is a project limit (Ingest:Projects:{{p}}:Limits:BudgetShare); a key has none.");
        }
        else if (BudgetShare is { } share && !(share > 0 && share <= 1))
        {
            failures.Add($"{prefix}:BudgetShare must be above 0 and at most 1; got {Text(BudgetShare)}.");
        }
    }

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}
