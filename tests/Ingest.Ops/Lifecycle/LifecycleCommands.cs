using System.CommandLine;
using Ingest.Contracts.Identity;
using Ingest.Storage.Lifecycle;
using Npgsql;

namespace Ingest.Ops.Lifecycle;

/// <summary>
/// The on-call side of data lifecycle (issue 17): <c>projects erase P --yes</c> (offboarding) and <c>lifecycle</c> (whether
/// retention and erasure are being carried out). Both need only the store (<c>--db</c> / <c>ConnectionStrings__Ingest</c>)
/// and read retention from the same settings as the API and workers.
/// </summary>
public static class LifecycleCommands
{
    /// <summary><c>projects erase &lt;project&gt; --yes</c>.</summary>
    public static Command Projects(Func<ParseResult, OpsContext> context, TextWriter error)
    {
        var project = new Argument<string>("project") { Description = "project id" };
        var yes = new Option<bool>("--yes") { Description = "really erase: without it, the command only says what it would do" };
        var erase = new Command(
            "erase",
            "erase a whole project (offboarding): its stored payloads, staged chunks and pending uploads are removed by the workers, "
            + "and its later payloads dropped for as long as its retention")
        {
            project, yes,
        };
        erase.Validators.Add(r =>
        {
            if (r.GetValue(project) is { } p && !Ids.IsValidProjectId(p))
            {
                r.AddError($"'{p}' is not a project id (^[A-Za-z0-9_-]{{1,{Ids.MaxProjectIdLength}}}$)");
            }
        });
        erase.SetAction((p, ct) => EraseProjectCommand.RunAsync(context(p), p.GetValue(project)!, p.GetValue(yes), error, ct));
        return new Command("projects", "whole projects") { erase };
    }

    /// <summary><c>lifecycle</c>.</summary>
    public static Command Status(Func<ParseResult, OpsContext> context)
    {
        var status = new Command(
            "lifecycle",
            "retention and erasure as the store shows them: each project's oldest stored payload against its retention, "
            + "erasures not yet carried out, the expiring tables' partitions, erased projects");
        status.SetAction((p, ct) => LifecycleCommand.RunAsync(context(p), ct));
        return status;
    }

    /// <summary>The store, once it is known to have the lifecycle schema; one clear line otherwise.</summary>
    internal static async Task<NpgsqlDataSource> OpenStoreAsync(OpsContext context, CancellationToken ct)
    {
        var source = NpgsqlDataSource.Create(context.Database);
        bool ready;
        try
        {
            ready = await LifecycleStatus.HasSchemaAsync(source, ct);
        }
        catch (NpgsqlException ex)
        {
            await source.DisposeAsync();
            throw new OpsException("cannot read the store", ex);
        }

        if (!ready)
        {
            await source.DisposeAsync();
            throw new OpsException(
                $"the store's schema is older than migration {LifecycleStatus.SchemaVersion} (lifecycle: ingest.sessions, ingest.erased_projects): "
                + "start a worker of this version first, it applies the schema");
        }

        return source;
    }

    /// <summary>A retention or interval as configuration writes it (<c>30.00:00:00</c>).</summary>
    internal static string Span(TimeSpan value) => value.ToString("c", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An instant, to the second, in UTC.</summary>
    internal static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
