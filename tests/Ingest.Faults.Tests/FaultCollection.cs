using Ingest.Faults.Tests.Harness;

namespace Ingest.Faults.Tests;

/// <summary>
/// The matrix's cells run one at a time: each starts an API and workers as child processes and owns a broker
/// and/or a database it breaks, and two shared cores would otherwise turn one cell's load into another's fault.
/// The real-broker cells share one three-node cluster (<see cref="RealCluster"/>), started at the first that needs it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection : ICollectionFixture<RealCluster>
{
    public const string Name = "Fault matrix";
}
