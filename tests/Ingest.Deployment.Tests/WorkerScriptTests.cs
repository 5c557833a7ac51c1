using System.Diagnostics;

namespace Ingest.Deployment.Tests;

/// <summary><c>docker/worker.sh N</c>, the documented way to add a worker replica to a running dev stack without Docker.</summary>
public sealed class WorkerScriptTests
{
    [Theory]
    [InlineData]
    [InlineData("two")]
    [InlineData("0")]
    [InlineData("33")]
    public async Task Bad_replica_numbers_exit_2_with_one_line(params string[] args)
    {
        var (code, _, error) = await RunAsync(Path.GetTempPath(), args);

        Assert.Equal(2, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.StartsWith("worker.sh: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_running_dev_stack_it_fails_with_one_line_saying_so()
    {
        var state = Directory.CreateTempSubdirectory("ingest-dev-").FullName;
        try
        {
            var (code, _, error) = await RunAsync(state, ["2"]);

            Assert.Equal(1, code);
            Assert.Contains("no dev stack is running", error, StringComparison.Ordinal);
            Assert.Single(error.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string state, string[] args)
    {
        var root = Ingest.Testing.PostgresFixture.RepositoryRoot();
        var info = new ProcessStartInfo("bash", [Path.Combine(root, "docker", "worker.sh"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["INGEST_DEV_DIR"] = state;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
