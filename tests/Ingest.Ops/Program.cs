using System.CommandLine;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Ops.Lifecycle;
using Ingest.Ops.Redrive;
using Microsoft.Extensions.Configuration;

namespace Ingest.Ops;

/// <summary>
/// <c>ingest-ops</c>: on-call commands. Exit 0 on success, 1 on a failure (one line on stderr), 2 on bad arguments.
/// The broker and database come from <c>--bootstrap</c>/<c>--db</c> or the same environment variables
/// the API and worker read (<c>Kafka__BootstrapServers</c>, <c>ConnectionStrings__Ingest</c>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args) => await MainAsync(args, Console.Out, Console.Error);

    public static Task<int> MainAsync(string[] args, TextWriter output, TextWriter error) =>
        MainAsync(args, output, error, OpsContext.EnvironmentSettings());

    /// <summary>Runs with <paramref name="settings"/> in place of the environment variables (the keys as .NET configuration names them).</summary>
    public static async Task<int> MainAsync(string[] args, TextWriter output, TextWriter error, IConfiguration settings)
    {
        var bootstrap = new Option<string?>("--bootstrap") { Description = "Kafka bootstrap servers", Recursive = true, DefaultValueFactory = _ => settings["Kafka:BootstrapServers"] };
        var db = new Option<string?>("--db") { Description = "Npgsql connection string of the store", Recursive = true, DefaultValueFactory = _ => settings["ConnectionStrings:Ingest"] };
        var topic = new Option<string>("--topic") { Description = "payload topic", Recursive = true, DefaultValueFactory = _ => settings["Ingest:Topic"] ?? IngestTopics.Payloads };
        var json = new Option<bool>("--json") { Description = "print JSON", Recursive = true };

        OpsContext Context(ParseResult p) => new(p.GetValue(bootstrap), p.GetValue(db), p.GetValue(topic)!, p.GetValue(json), output, settings);

        var partitions = new Option<int>("--partitions") { Description = "partitions for a new topic (fixed for its life)", DefaultValueFactory = _ => 12 };
        var replication = new Option<short?>("--replication-factor") { Description = "default min(3, brokers)" };
        var retention = new Option<int>("--retention-hours") { Description = "longer than the longest worker outage to survive", DefaultValueFactory = _ => 168 };
        var ensure = new Command("ensure", "create the payload and dead-letter topics with durable settings when missing") { partitions, replication, retention };
        ensure.SetAction((p, ct) => TopicsCommands.EnsureAsync(Context(p), p.GetValue(partitions), p.GetValue(replication), p.GetValue(retention), ct));
        var describe = new Command("describe", "partitions, leaders, in-sync replicas and durability configs");
        describe.SetAction((p, ct) => TopicsCommands.DescribeAsync(Context(p), ct));

        var group = new Option<string>("--group") { Description = "consumer group", DefaultValueFactory = _ => "ingest-worker" };
        var lag = new Command("lag", "per-partition lag of a consumer group and the end-to-end latency estimate") { group };
        lag.SetAction((p, ct) => LagCommand.RunAsync(Context(p), p.GetValue(group)!, ct));

        var limit = new Option<int>("--limit") { Description = "at most this many", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "dead letters with their error and origin") { limit };
        list.SetAction((p, ct) => DlqCommands.ListAsync(Context(p), p.GetValue(limit), ct));
        var position = new Argument<string>("position") { Description = "PARTITION:OFFSET in the dead-letter topic" };
        var show = new Command("show", "one dead letter's headers") { position };
        show.SetAction((p, ct) => DlqCommands.ShowAsync(Context(p), p.GetValue(position)!, ct));

        var to = new Option<string?>("--to") { Description = "topic to write to; default: each letter's original topic" };
        var redrive = new Command("redrive", "copy dead letters back to the payload topic (chunked payloads re-sent from their staged chunks)") { to };
        var (redriveGroup, offsets, dryRun) = RedriveCommand.AddSelection(redrive);
        redrive.SetAction((p, ct) =>
        {
            var context = Context(p);
            return RedriveCommand.ExecuteAsync(
                new RedriveRequest(IngestTopics.DeadLetterFor(context.Topic), context.Bootstrap, p.GetValue(to), p.GetValue(redriveGroup)!,
                    RedriveCommand.Positions(p.GetValue(offsets)), p.GetValue(dryRun), context.DatabaseOrNull),
                context.Json, output, ct);
        });

        var from = new Option<DateTimeOffset?>("--from") { Description = "start of the range: " + ReplayTime.Help, Required = true, CustomParser = r => ReplayTime.Parse(r, TimeProvider.System) };
        var until = new Option<DateTimeOffset?>("--to") { Description = "end of the range (default: what the workers have committed): " + ReplayTime.Help, CustomParser = r => ReplayTime.Parse(r, TimeProvider.System) };
        var replaySession = new Option<string?>("--session") { Description = "only this session (only its partition is read)" };
        var replayProject = new Option<string>("--project") { Description = "project of --session", DefaultValueFactory = _ => "dev" };
        var replayGroup = new Option<string>("--group") { Description = "the workers' consumer group (the range ends at its committed offsets)", DefaultValueFactory = _ => "ingest-worker" };
        var replay = new Command("replay", "re-apply a time range of the payload topic to the store (idempotent: stored payloads are no-ops, missing ones are written back)")
        {
            from, until, replaySession, replayProject, replayGroup,
        };
        replay.Validators.Add(r =>
        {
            // Only once both parsed: a bad time is reported by its own parser.
            var now = DateTimeOffset.UtcNow;
            if (r.GetResult(from) is { Tokens: [var ft] } && ReplayTime.TryParse(ft.Value, now, out var f)
                && r.GetResult(until) is { Tokens: [var tt] } && ReplayTime.TryParse(tt.Value, now, out var t) && t < f)
            {
                r.AddError($"--to {t:O} is before --from {f:O}");
            }
        });
        replay.SetAction((p, ct) => ReplayCommand.RunAsync(Context(p), new ReplayCommand.Request(
            p.GetValue(from)!.Value, p.GetValue(until), p.GetValue(replaySession), p.GetValue(replayProject)!, p.GetValue(replayGroup)!), ct));

        var project = new Option<string>("--project") { Description = "project id", DefaultValueFactory = _ => "dev" };
        var session = new Argument<string>("session-id");
        var sessionLimit = new Option<int>("--limit") { Description = "at most this many payloads", DefaultValueFactory = _ => 1000 };
        var sessionShow = new Command("show", "what the store holds for a session, in applied order") { session, project, sessionLimit };
        sessionShow.SetAction((p, ct) => SessionsCommand.ShowAsync(Context(p), p.GetValue(project)!, p.GetValue(session)!, p.GetValue(sessionLimit), ct));

        var root = new RootCommand("On-call commands for Ingest.")
        {
            bootstrap, db, topic, json,
            new Command("topics", "the payload and dead-letter topics") { ensure, describe },
            lag,
            replay,
            new Command("dlq", "the dead-letter topic") { list, show, redrive },
            new Command("sessions", "stored sessions") { sessionShow },
            LifecycleCommands.Projects(Context, error),
            LifecycleCommands.Status(Context),
            TokenCommand.Create(json, output),
        };

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await error.WriteLineAsync($"ingest-ops: {parsed.Errors[0].Message}");
            return 2;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (OpsException ex)
        {
            await error.WriteLineAsync($"ingest-ops: {ex.Message}");
            return 1;
        }
        catch (KafkaException ex)
        {
            await error.WriteLineAsync($"ingest-ops: Kafka: {ex.Error.Reason}");
            return 1;
        }
    }
}
