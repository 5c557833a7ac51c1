using Ingest.Worker.Redrive;
using Ingest.Worker.Startup;

namespace Ingest.Worker;

/// <summary>What <c>Ingest.Worker.dll</c> runs: an ops subcommand when the first argument names one, otherwise the worker.</summary>
internal static class WorkerCommandLine
{
    /// <summary>Runs the command <paramref name="args"/> ask for; its exit code (the worker: 1 when start-up refused).</summary>
    public static int Run(string[] args, Func<string[], WebApplication> buildWorker) =>
        RedriveCommand.TryRun(args) ?? RunWorker(buildWorker(args));

    private static int RunWorker(WebApplication app)
    {
        var startup = app.Services.GetRequiredService<WorkerStartup>(); // Run disposes the services
        app.Run();
        if (startup.Refusal is { } refusal)
        {
            Console.Error.WriteLine($"Ingest.Worker: {refusal.Message}");
            return 1;
        }

        return 0;
    }
}
