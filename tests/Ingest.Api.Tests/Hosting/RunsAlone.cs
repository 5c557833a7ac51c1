namespace Ingest.Api.Tests.Hosting;

/// <summary>
/// Tests that must not overlap others in this process: mock-cluster fault injection is cluster-wide, and
/// process-wide meters mix the counts of concurrent API instances. xunit runs such a collection after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
