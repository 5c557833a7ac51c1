using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;

namespace Ingest.Worker.Redrive;

/// <summary>
/// <c>dotnet Ingest.Worker.dll redrive --from-dlq {topic} [--offset P:O …] [--dry-run] [--json] [--db …]</c>, and the
/// running and printing <c>ingest-ops dlq redrive</c> shares with it (<see cref="ExecuteAsync"/>).
/// </summary>
public static class RedriveCommand
{
    /// <summary>Header naming where a redriven message came from.</summary>
    public const string RedrivenFromHeader = Redriver.RedrivenFromHeader;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Builds the <c>redrive</c> subcommand of the worker executable.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var from = new Option<string>("--from-dlq") { Description = "Dead-letter topic to read, e.g. ingest.payloads.dlq.", Required = true };
        var bootstrap = new Option<string>("--bootstrap")
        {
            Description = "Kafka bootstrap servers (host:port,…).",
            // The same variable the worker reads its broker from, so on a worker's host no flag is needed.
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Kafka__BootstrapServers") ?? "localhost:9092",
        };
        var db = new Option<string?>("--db")
        {
            Description = "Npgsql connection string of the store (needed for chunked payloads); default ConnectionStrings__Ingest.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ConnectionStrings__Ingest"),
        };
        var to = new Option<string?>("--to") { Description = "Topic to write to; default: each message's original topic (ingest-dlq-topic header)." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var command = new Command("redrive", "Copy dead-lettered payloads back to the payload topic.") { from, bootstrap, db, to, json };
        var (group, offsets, dryRun) = AddSelection(command);
        command.SetAction((result, token) => ExecuteAsync(
            new RedriveRequest(result.GetValue(from)!, result.GetValue(bootstrap)!, result.GetValue(to), result.GetValue(group)!,
                Positions(result.GetValue(offsets)), result.GetValue(dryRun), result.GetValue(db)),
            result.GetValue(json), "redrive", output, error, token));
        return command;
    }

    /// <summary>Adds the options both redrive commands share: <c>--group</c>, <c>--offset P:O</c> (repeatable) and <c>--dry-run</c>.</summary>
    public static (Option<string> Group, Option<string[]> Offsets, Option<bool> DryRun) AddSelection(Command command)
    {
        var group = new Option<string>("--group")
        {
            Description = "Consumer group that records what was redriven (when no --offset is given).",
            DefaultValueFactory = _ => "ingest-redrive",
        };
        var offsets = new Option<string[]>("--offset")
        {
            Description = "Only the dead letter at PARTITION:OFFSET (repeatable); default: every letter not redriven before.",
            AllowMultipleArgumentsPerToken = true,
        };
        offsets.Validators.Add(result =>
        {
            foreach (var text in result.GetValueOrDefault<string[]>() ?? [])
            {
                if (Redriver.ParsePosition(text) is null)
                {
                    result.AddError($"--offset '{text}' is not PARTITION:OFFSET (e.g. 3:42)");
                }
            }
        });
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be redriven; write and commit nothing." };
        command.Options.Add(group);
        command.Options.Add(offsets);
        command.Options.Add(dryRun);
        return (group, offsets, dryRun);
    }

    /// <summary>The positions of <c>--offset</c>, or null (all letters) when none were given.</summary>
    public static IReadOnlyList<(int Partition, long Offset)>? Positions(string[]? offsets) =>
        offsets is { Length: > 0 } ? [.. offsets.Select(o => Redriver.ParsePosition(o)!.Value)] : null;

    /// <summary>Runs the command line if it is a tool command; null when the worker should start instead.</summary>
    public static int? TryRun(string[] args)
    {
        if (args.Length == 0 || args[0] != "redrive")
        {
            return null;
        }

        var root = new RootCommand("Ingest worker tools.") { Create(Console.Out, Console.Error) };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Bad arguments: one line and exit 2, like every other Ingest tool (failures exit 1).
            Console.Error.WriteLine($"redrive: {parsed.Errors[0].Message}");
            return 2;
        }

        return parsed.Invoke();
    }

    /// <summary>Runs a redrive and prints it: exit 0, or 1 with one line on <paramref name="error"/>.</summary>
    public static async Task<int> ExecuteAsync(
        RedriveRequest request, bool json, string name, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var report = await Task.Run(() => Redriver.RunAsync(request, cancellationToken), cancellationToken);
            Print(report, json, output);
            return 0;
        }
        catch (RedriveException ex)
        {
            await error.WriteLineAsync($"{name}: {ex.Message}");
            return 1;
        }
        catch (KafkaException ex)
        {
            await error.WriteLineAsync($"{name}: Kafka: {ex.Error.Reason}");
            return 1;
        }
    }

    private static void Print(RedriveReport report, bool json, TextWriter output)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new { report.DeadLetterTopic, report.DryRun, count = report.Letters.Count, letters = report.Letters }, JsonOptions));
            return;
        }

        foreach (var l in report.Letters)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {l.Partition}:{l.Offset}  {l.Session ?? "(no envelope)"}  → {l.Target}  {(l.Kind == "chunked" ? $"chunked, {l.Messages} chunks{(l.PayloadId is { } id ? $", new payload id {id:N}" : "")}" : "message")}"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(report.DryRun ? "Would redrive" : "Redrove")} {report.Letters.Count} message(s) from {report.DeadLetterTopic}."));
    }
}
