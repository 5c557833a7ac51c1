using System.Diagnostics;
using Ingest.Testing;

namespace Ingest.Benchmarks;

/// <summary>
/// Failover pauses (both rebalance protocols: graceful stop, SIGKILL, SIGKILL + restart with the same
/// <c>group.instance.id</c>, a join, and the restarted worker's start-up milestones) and the worker's memory through a
/// database outage are measured by the worker tests that also assert them (workers as child processes, their own
/// Postgres; the failovers on the tests' real Kafka when <c>../shared/kafka</c> or <c>INGEST_TEST_KAFKA</c> gives one,
/// else on mock clusters of their own): the harness runs those tests with <see cref="MeasurementLog.Variable"/> set and
/// reports what they recorded, so the report and the tests cannot disagree. Full runs only: on a real Kafka with its
/// default KIP-848 session of 45 s the tests take about ten minutes.
/// </summary>
public static class FailoverScenario
{
    private const string Filter = "FullyQualifiedName~Ingest.Worker.Tests.Consuming.FailoverTests|FullyQualifiedName~Ingest.Worker.Tests.Storage.PostgresOutageTests";

    public static async Task<IReadOnlyList<AbsoluteMeasurement>> RunAsync(TextWriter log, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"ingest-bench-measurements-{Guid.NewGuid():N}.jsonl");
        var project = Path.Combine(PostgresFixture.RepositoryRoot(), "tests", "Ingest.Worker.Tests", "Ingest.Worker.Tests.csproj");
        var info = new ProcessStartInfo("dotnet", ["test", project, "-c", "Release", "--filter", Filter, "--logger", "console;verbosity=minimal"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment[MeasurementLog.Variable] = file;
        await log.WriteLineAsync($"  failover: dotnet test {Path.GetRelativePath(PostgresFixture.RepositoryRoot(), project)} --filter \"{Filter}\"");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet test");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var lines = (await output + await errors).Split('\n');
            throw new InvalidOperationException($"the failover tests failed (exit {process.ExitCode}):\n{string.Join('\n', lines.TakeLast(40))}");
        }

        var measured = MeasurementLog.Read(file);
        File.Delete(file);
        foreach (var m in measured)
        {
            await log.WriteLineAsync(FormattableString.Invariant($"  {m.Scenario}: {m.Value:0.###} {m.Unit}"));
        }

        return measured.Count > 0
            ? measured
            : throw new InvalidOperationException("the failover tests passed but recorded no measurement");
    }
}
