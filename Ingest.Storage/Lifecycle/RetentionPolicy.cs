using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Ingest.Storage.Lifecycle;

/// <summary>
/// <c>Ingest:Lifecycle:*</c>: how long payloads are kept by default, and how the worker keeps storage bounded.
/// </summary>
public sealed class LifecycleOptions
{
    public const string Section = "Ingest:Lifecycle";

    /// <summary>Default 30 days: the retention of a project without <c>Ingest:Projects:{project}:Retention</c>.</summary>
    public static readonly TimeSpan DefaultRetentionValue = TimeSpan.FromDays(30);

    /// <summary><c>Ingest:Lifecycle:DefaultRetention</c>: retention of projects that set none. Default 30 days.</summary>
    public TimeSpan DefaultRetention { get; set; } = DefaultRetentionValue;

    /// <summary>
    /// <c>Ingest:Lifecycle:CheckInterval</c>: how often a worker removes expired and erased data and keeps the partitions
    /// ahead. Default 1 minute: expired payloads are removed within Retention + CheckInterval.
    /// </summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <c>Ingest:Lifecycle:PartitionInterval</c>: the expiry span of one partition. Default 1 day: a partition's space goes
    /// back to the operating system (the partition is dropped) within PartitionInterval + CheckInterval of its last expiry.
    /// </summary>
    public TimeSpan PartitionInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// <c>Ingest:Lifecycle:SweepExpiredRows</c>: remove each payload as soon as it expires (default true), through the
    /// <c>(project, received_at)</c> index, a slice at a time. False leaves expired rows (unreadable) until their partition
    /// is dropped — cheaper for the database, removal within Retention + PartitionInterval + CheckInterval — and a shortened
    /// retention is then applied physically only as the partitions of the old expiry go.
    /// </summary>
    public bool SweepExpiredRows { get; set; } = true;
}

/// <summary>
/// Each project's retention: <c>Ingest:Projects:{project}:Retention</c> (a TimeSpan), else
/// <see cref="LifecycleOptions.DefaultRetention"/>. Every process that stores, reads or erases payloads reads the same keys.
/// </summary>
public sealed class RetentionPolicy
{
    /// <summary>The longest retention anyone may get: TimeSpan arithmetic on timestamps stays in range below it.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(3650);

    private readonly Dictionary<string, TimeSpan> _projects;

    public RetentionPolicy(TimeSpan defaultRetention, IReadOnlyDictionary<string, TimeSpan> projects)
    {
        Default = defaultRetention;
        _projects = new Dictionary<string, TimeSpan>(projects, StringComparer.Ordinal);
        Longest = _projects.Values.Append(Default).Max();
    }

    /// <summary>The retention of projects that set none.</summary>
    public TimeSpan Default { get; }

    /// <summary>The longest retention configured: how far ahead partitions must exist.</summary>
    public TimeSpan Longest { get; }

    /// <summary>Projects that set their own retention, with it.</summary>
    public IReadOnlyDictionary<string, TimeSpan> Configured => _projects;

    /// <summary>How long <paramref name="project"/>'s payloads are kept after they were received.</summary>
    public TimeSpan For(string project) => _projects.TryGetValue(project, out var retention) ? retention : Default;

    /// <summary>When a payload of <paramref name="project"/> received at <paramref name="receivedAt"/> expires.</summary>
    public DateTimeOffset ExpiresAt(string project, DateTimeOffset receivedAt) => receivedAt + For(project);

    /// <summary>
    /// Reads the policy from <paramref name="configuration"/>; <paramref name="errors"/> names each key that is not a
    /// TimeSpan in (0, 3650 days].
    /// </summary>
    public static RetentionPolicy Read(IConfiguration configuration, TimeSpan defaultRetention, List<string> errors)
    {
        var projects = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var project in configuration.GetSection("Ingest:Projects").GetChildren())
        {
            var key = $"Ingest:Projects:{project.Key}:Retention";
            if (project["Retention"] is not { } text)
            {
                continue;
            }

            if (TryParse(text, out var retention))
            {
                projects[project.Key] = retention;
            }
            else
            {
                errors.Add($"{key} must be a TimeSpan above zero and at most 3650 days (e.g. 30.00:00:00), not '{text}'.");
            }
        }

        return new RetentionPolicy(defaultRetention, projects);
    }

    /// <summary>
    /// The policy <paramref name="configuration"/> sets (<c>Ingest:Lifecycle:DefaultRetention</c> and every project's
    /// <c>Retention</c>), for a tool without a host.
    /// </summary>
    /// <exception cref="InvalidOperationException">A value is not a valid retention; the message names the key.</exception>
    public static RetentionPolicy FromConfiguration(IConfiguration configuration)
    {
        var errors = new List<string>();
        var defaultRetention = LifecycleOptions.DefaultRetentionValue;
        if (configuration[$"{LifecycleOptions.Section}:DefaultRetention"] is { } text && !TryParse(text, out defaultRetention))
        {
            errors.Add($"{LifecycleOptions.Section}:DefaultRetention must be a TimeSpan above zero and at most 3650 days, not '{text}'.");
        }

        var policy = Read(configuration, defaultRetention, errors);
        return errors.Count == 0 ? policy : throw new InvalidOperationException(string.Join(" ", errors));
    }

    /// <summary>True when <paramref name="retention"/> is above zero and at most <see cref="Max"/>.</summary>
    public static bool IsValid(TimeSpan retention) => retention > TimeSpan.Zero && retention <= Max;

    private static bool TryParse(string text, out TimeSpan retention) =>
        TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out retention) && IsValid(retention);
}
