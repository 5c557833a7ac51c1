using Ingest.Worker.Startup;

namespace Ingest.Worker;

/// <summary>What <c>Ingest.Worker.dll</c> runs: the worker, or one clear line for a subcommand that moved.</summary>
internal static class WorkerCommandLine
{
    /// <summary>
    /// Runs the worker; its exit code is 1 when start-up refused. <c>redrive</c> moved to the ops tool (one
    /// implementation, shipped in the worker image): given it, the worker says where and exits 2 instead of starting
    /// as a worker that silently ignores the arguments.
    /// </summary>
    public static int Run(string[] args, Func<string[], WebApplication> buildWorker)
    {
        if (args is ["redrive", ..])
        {
            Console.Error.WriteLine("Ingest.Worker: redrive moved to the ops tool: run `ingest-ops dlq redrive` (shipped in the worker image)");
            return 2;
        }

        return RunWorker(buildWorker(args));
    }

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
