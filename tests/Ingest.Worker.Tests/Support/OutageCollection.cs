namespace Ingest.Worker.Tests.Support;

/// <summary>
/// Tests that stop databases, kill workers or time failovers: they own their broker and Postgres, and run
/// one at a time so that two cores shared with other tests do not distort their timings.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OutageCollection
{
    public const string Name = "Outages and failovers";
}
