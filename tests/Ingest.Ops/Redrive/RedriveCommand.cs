using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Ingest.Ops.Redrive;

/// <summary>
/// The options, running and printing of <c>ingest-ops dlq redrive [--offset P:O …] [--group …] [--dry-run] [--to …]</c>
/// (<see cref="AddSelection"/>, <see cref="ExecuteAsync"/>); the broker, store and topic come from the tool's own options.
/// </summary>
public static class RedriveCommand
{
    /// <summary>Header naming where a redriven message came from.</summary>
    public const string RedrivenFromHeader = Redriver.RedrivenFromHeader;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Adds the redrive selection options: <c>--group</c>, <c>--offset P:O</c> (repeatable) and <c>--dry-run</c>.</summary>
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

    /// <summary>
    /// Runs a redrive and prints it (exit 0). A redrive that cannot go on is an <see cref="OpsException"/>, which
    /// <c>ingest-ops</c> reports like every other failure: one line, exit 1 (Kafka errors likewise).
    /// </summary>
    public static async Task<int> ExecuteAsync(RedriveRequest request, bool json, TextWriter output, CancellationToken cancellationToken)
    {
        RedriveReport report;
        try
        {
            report = await Task.Run(() => Redriver.RunAsync(request, cancellationToken), cancellationToken);
        }
        catch (RedriveException ex)
        {
            throw new OpsException(ex.Message);
        }

        Print(report, json, output);
        return 0;
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
