namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// One cell of the matrix: what its stack must own, how the clients load it, and the fault, injected and healed
/// by <see cref="InjectAsync"/> while the load runs.
/// </summary>
/// <param name="Name">Short name, printed first on the cell's result line.</param>
/// <param name="Needs">What the cell's stack owns.</param>
/// <param name="InjectAsync">Breaks something and repairs it; returns when the fault is over.</param>
public sealed record Fault(string Name, StackNeeds Needs, Func<FaultContext, CancellationToken, Task> InjectAsync)
{
    public LoadShape Load { get; init; } = LoadShape.Default;

    /// <summary>Needs librdkafka's mock cluster's fault injection (a real broker cannot be made to do it from a test).</summary>
    public string? MockOnlyBecause { get; init; }
}

/// <summary>What a fault may act on: the stack, and the clients' load (for faults of the clients themselves).</summary>
public sealed record FaultContext(FaultStack Stack, RecordingClients Clients, Ledger Ledger);
