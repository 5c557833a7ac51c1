namespace Ingest.Worker.Tests.Startup;

/// <summary>The worker executable's command line: redrive moved to the ops tool and is refused with one line, never run as a worker.</summary>
public sealed class WorkerCommandLineTests
{
    [Theory]
    [InlineData("redrive")]
    [InlineData("redrive", "--from-dlq", "ingest.payloads.dlq")]
    public void The_old_redrive_subcommand_exits_2_without_starting_a_worker(params string[] args)
    {
        var started = false;
        var exit = WorkerCommandLine.Run(args, _ =>
        {
            started = true;
            throw new InvalidOperationException("the worker must not be built for a redrive command line");
        });

        Assert.Equal(2, exit);
        Assert.False(started);
    }
}
