namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// One cell of the matrix: what its stack must own, how the clients load it, and the fault, injected and healed
/// by <see cref="InjectAsync"/> while the load runs.
/// </summary>
/// <param name="Name">Short name, printed first on the cell's result line.</param>
/// <param name="Needs">What the cell's stack owns, its broker included.</param>
/// <param name="InjectAsync">Breaks something and repairs it; returns when the fault is over.</param>
public sealed record Fault(string Name, StackNeeds Needs, Func<FaultContext, CancellationToken, Task> InjectAsync)
{
    public LoadShape Load { get; init; } = LoadShape.Default;

    /// <summary>Sets the stage before the load starts (e.g. leadership skewed, for an election to undo); outside the fault's window.</summary>
    public Func<FaultStack, CancellationToken, Task>? PrepareAsync { get; init; }
}

/// <summary>What a fault may act on: the stack, and the clients' load (for faults of the clients themselves).</summary>
public sealed record FaultContext(FaultStack Stack, RecordingClients Clients, Ledger Ledger);
