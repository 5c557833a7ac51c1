using Ingest.Storage.Lifecycle;
using Npgsql;
using static Ingest.Ops.Lifecycle.LifecycleCommands;

namespace Ingest.Ops.Lifecycle;

/// <summary>
/// <c>projects erase P --yes</c>: records the erasure of a whole project (<see cref="ProjectErasures"/>). The workers drop
/// its later payloads from the commit on, and their maintenance removes what is stored within <c>CheckInterval</c>.
/// </summary>
public static class EraseProjectCommand
{
    public static async Task<int> RunAsync(OpsContext context, string project, bool yes, TextWriter error, CancellationToken ct)
    {
        var retention = context.Retention.For(project);
        var checkInterval = context.Lifecycle.CheckInterval;
        if (!yes)
        {
            await error.WriteLineAsync(
                $"ingest-ops: would erase project {project}: every stored payload, staged chunk and pending upload of it removed by the workers "
                + $"within {CheckIntervalText(checkInterval)}, and its later payloads dropped for its retention ({Span(retention)}); "
                + "add --yes to do it");
            return 2;
        }

        await using var source = await OpenStoreAsync(context, ct);
        ProjectErasure erasure;
        try
        {
            erasure = await new ProjectErasures(source).EraseAsync(project, retention, ct);
        }
        catch (NpgsqlException ex)
        {
            throw new OpsException($"cannot record the erasure of project {project}", ex);
        }

        context.Print(
            new
            {
                erasure.Project,
                erasure.ErasedAt,
                erasure.KeepUntil,
                erasure.AlreadyErased,
                erasure.SessionsMarked,
                erasure.SessionsAlreadyErased,
                Retention = Span(retention),
                CheckInterval = Span(checkInterval),
            },
            w =>
            {
                w.WriteLine(erasure.AlreadyErased
                    ? $"project {project} was already erased at {Time(erasure.ErasedAt)}; recorded again"
                    : $"project {project} erased at {Time(erasure.ErasedAt)}");
                w.WriteLine($"  sessions marked erased: {erasure.SessionsMarked} (already erased: {erasure.SessionsAlreadyErased})");
                w.WriteLine($"  stored payloads, staged chunks and pending uploads: removed by the workers within {CheckIntervalText(checkInterval)}");
                w.WriteLine($"  later payloads of the project are dropped until {Time(erasure.KeepUntil)} (at least its retention, {Span(retention)}, from now)");
            });
        return 0;
    }

    private static string CheckIntervalText(TimeSpan checkInterval) =>
        $"Ingest:Lifecycle:CheckInterval ({Span(checkInterval)}{(checkInterval == new LifecycleOptions().CheckInterval ? ", the default" : "")})";
}
