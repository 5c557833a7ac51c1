using System.Globalization;
using Ingest.Faults.Tests.Harness;
using Ingest.Testing;

namespace Ingest.Faults.Tests;

/// <summary>
/// Off in CI. <c>INGEST_SOAK_MINUTES=N dotnet test tests/Ingest.Faults.Tests -c Release --filter FullyQualifiedName~Soak</c>
/// runs the soak faults on a loop for N minutes; <c>INGEST_SOAK_OUT</c> is where soak.csv and soak.svg go
/// (default TestResults/soak-{time} under the repository). <c>INGEST_SOAK_BROKER=real</c> runs it on the real
/// three-node cluster with its broker faults (the default, <c>mock</c>, on a mock cluster of its own).
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class SoakTests(KafkaFixture kafka, RealCluster real, PostgresFixture postgres)
{
    [Fact]
    public async Task Matrix_on_a_loop_keeps_the_invariant_memory_and_latency()
    {
        var setting = Environment.GetEnvironmentVariable("INGEST_SOAK_MINUTES");
        if (string.IsNullOrWhiteSpace(setting))
        {
            Assert.Skip("The soak runs only when INGEST_SOAK_MINUTES is set (e.g. INGEST_SOAK_MINUTES=30).");
        }

        Assert.True(double.TryParse(setting, NumberStyles.Float, CultureInfo.InvariantCulture, out var minutes) && minutes > 0,
            $"INGEST_SOAK_MINUTES must be a positive number of minutes, not '{setting}'");
        var output = Environment.GetEnvironmentVariable("INGEST_SOAK_OUT") is { Length: > 0 } configured
            ? configured
            : Path.Combine(PostgresFixture.RepositoryRoot(), "TestResults", $"soak-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        var broker = Environment.GetEnvironmentVariable("INGEST_SOAK_BROKER") is { Length: > 0 } named ? named : "mock";
        Assert.True(broker is "mock" or "real", $"INGEST_SOAK_BROKER must be mock or real, not '{broker}'");
        var onReal = broker == "real";
        if (onReal && RealCluster.Unavailable is { } reason)
        {
            Assert.Skip($"INGEST_SOAK_BROKER=real: {reason}");
        }

        var result = await Soak.RunAsync(
            TimeSpan.FromMinutes(minutes), output, kafka, onReal ? real : null, postgres, TestContext.Current.CancellationToken);
        Matrix.Report(result.Line());
        Assert.True(result.Holds && result.DeadLettered.Count == 0, result.Details());
    }
}
