using Spectre.Console;

namespace Ingest.LoadGen;

/// <summary>
/// <c>ingest-loadgen</c>: many concurrent recording sessions posting to the Ingest API, a live
/// progress bar, a summary (accepted, refused by status, bytes, 202 latency p50/p99/p99.9) and an
/// optional <c>--verify</c> read-back. Exit 0 on success, 1 when verification finds a difference or
/// nothing was accepted, 2 on bad arguments.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var command = LoadCommand.Create(RunAsync);
        var parsed = command.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await Console.Error.WriteLineAsync($"ingest-loadgen: {parsed.Errors[0].Message}");
            return 2;
        }

        return await parsed.InvokeAsync();
    }

    private static async Task<int> RunAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Sessions + 8, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromMinutes(10) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", options.Key);
        var runner = new LoadRunner(options, client);

        LoadResult result;
        if (options.Json || Console.IsOutputRedirected)
        {
            result = await runner.RunAsync(null, cancellationToken);
        }
        else
        {
            result = await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"{options.Sessions} sessions × {options.PayloadsPerSession} payloads, {options.Size}", maxValue: options.TotalPayloads);
                    return await runner.RunAsync(new Progress<long>(n => task.Value = n), cancellationToken);
                });
        }

        List<string>? problems = null;
        if (options.Verify)
        {
            problems = await new Verifier(options, client).VerifyAsync(result, runner.SessionId, cancellationToken);
        }

        Summary.Write(options, result, problems);
        if (problems is { Count: > 0 })
        {
            return 1;
        }

        return result.Accepted > 0 ? 0 : 1;
    }
}
