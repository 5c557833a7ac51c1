using System.Globalization;
using Ingest.Storage.Lifecycle;
using Npgsql;
using static Ingest.Ops.Lifecycle.LifecycleCommands;

namespace Ingest.Ops.Lifecycle;

/// <summary>
/// <c>lifecycle</c>: <see cref="LifecycleStatus"/> with each project's configured retention, and a warning for whatever the
/// workers' maintenance should have done by now (a payload older than retention + CheckInterval, an erasure older than
/// CheckInterval whose data is still stored): it is not keeping up, or not running.
/// </summary>
public static class LifecycleCommand
{
    /// <summary>One project as printed.</summary>
    public sealed record ProjectView(
        string Project, string Retention, string RetentionFrom, DateTimeOffset? OldestReceivedAt, long? OldestAgeSeconds, long Sessions,
        long ErasedSessionsUnpurged, DateTimeOffset? OldestUnpurgedErasureAt, bool Erased, IReadOnlyList<string> Warnings);

    public static async Task<int> RunAsync(OpsContext context, CancellationToken ct)
    {
        var policy = context.Retention;
        var checkInterval = context.Lifecycle.CheckInterval;
        await using var source = await OpenStoreAsync(context, ct);
        LifecycleSnapshot status;
        try
        {
            status = await new LifecycleStatus(source).ReadAsync(policy.Configured.Keys, ct);
        }
        catch (NpgsqlException ex)
        {
            throw new OpsException("cannot read the store", ex);
        }

        var projects = status.Projects.Select(p => View(p, policy, checkInterval, status.At)).ToList();
        var erased = status.Projects.Where(p => p.Erased is not null).Select(p => p.Erased!).ToList();
        var warnings = projects.SelectMany(p => p.Warnings.Select(w => $"{p.Project}: {w}")).ToList();
        context.Print(
            new
            {
                status.At,
                CheckInterval = Span(checkInterval),
                DefaultRetention = Span(policy.Default),
                Projects = projects,
                status.Tables,
                status.PendingUploads,
                status.PendingUploadsExpired,
                ErasedProjects = erased,
                Warnings = warnings,
            },
            w => Write(w, status, projects, erased, warnings, policy.Default, checkInterval));
        return 0;
    }

    private static ProjectView View(ProjectLifecycle p, RetentionPolicy policy, TimeSpan checkInterval, DateTimeOffset at)
    {
        var retention = policy.For(p.Project);
        var warnings = new List<string>();
        if (p.OldestAge is { } age && age > retention + checkInterval)
        {
            warnings.Add($"oldest stored payload is {Age(age)} old, past its retention ({Span(retention)}) + CheckInterval ({Span(checkInterval)}): "
                + "the workers' maintenance is not keeping up or not running");
        }

        if (p.Erased is { } project && p.OldestReceivedAt is not null && at - project.ErasedAt > checkInterval)
        {
            warnings.Add($"erased {Age(at - project.ErasedAt)} ago and still has stored payloads: the workers' maintenance is not keeping up or not running");
        }

        if (p.OldestUnpurgedErasureAt is { } erasedAt && at - erasedAt > checkInterval)
        {
            warnings.Add($"{p.ErasedSessionsUnpurged} erased session(s) not yet purged, the oldest erased {Age(at - erasedAt)} ago: "
                + "the workers' maintenance is not keeping up or not running");
        }

        return new ProjectView(
            p.Project, Span(retention), policy.Configured.ContainsKey(p.Project) ? $"Ingest:Projects:{p.Project}:Retention" : "default",
            p.OldestReceivedAt, p.OldestAge is { } a ? (long)a.TotalSeconds : null, p.Sessions, p.ErasedSessionsUnpurged,
            p.OldestUnpurgedErasureAt, p.Erased is not null, warnings);
    }

    private static void Write(
        TextWriter w, LifecycleSnapshot status, List<ProjectView> projects, List<ErasedProject> erased, List<string> warnings,
        TimeSpan defaultRetention, TimeSpan checkInterval)
    {
        w.WriteLine($"lifecycle at {Time(status.At)}: default retention {Span(defaultRetention)}, check interval {Span(checkInterval)}");
        w.WriteLine($"  {"project",-20} {"retention",-22} {"oldest stored",-20} {"age",-12} {"sessions",9} {"unpurged",9}");
        foreach (var p in projects)
        {
            var retention = p.RetentionFrom == "default" ? $"{p.Retention} (default)" : p.Retention;
            var oldest = p.OldestReceivedAt is { } o ? Time(o) : "-";
            var age = p.OldestAgeSeconds is { } s ? Age(TimeSpan.FromSeconds(s)) : "-";
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {p.Project,-20} {retention,-22} {oldest,-20} {age,-12} {p.Sessions,9} {p.ErasedSessionsUnpurged,9}{(p.Erased ? "  erased" : "")}"));
        }

        foreach (var t in status.Tables)
        {
            w.WriteLine(t.Partitions == 0
                ? $"  {t.Table}: no partitions"
                : string.Create(CultureInfo.InvariantCulture,
                    $"  {t.Table}: {t.Partitions} partitions, expiry {Time(t.LowestBound!.Value)} … {Time(t.HighestBound!.Value)}, "
                    + $"{t.ExpiredPartitions} wholly expired (dropped by the next pass), {Size(t.TotalBytes)}"));
        }

        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  pending uploads: {status.PendingUploads} ({status.PendingUploadsExpired} past their expiry, removed by the next pass)"));
        w.WriteLine(erased.Count == 0 ? "  erased projects: none" : "  erased projects:");
        foreach (var e in erased)
        {
            w.WriteLine($"    {e.Project}: erased {Time(e.ErasedAt)}, payloads dropped until {Time(e.KeepUntil)}, "
                + (e.PurgedAt is { } purged ? $"last purged {Time(purged)}" : "not yet purged"));
        }

        foreach (var warning in warnings)
        {
            w.WriteLine($"  ! {warning}");
        }
    }

    /// <summary>An age to the second (<c>2.03:04:05</c>).</summary>
    private static string Age(TimeSpan age) => Span(TimeSpan.FromSeconds(Math.Floor(age.TotalSeconds)));

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
    };
}
