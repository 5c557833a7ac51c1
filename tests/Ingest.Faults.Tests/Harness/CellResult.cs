using System.Globalization;
using System.Text;

namespace Ingest.Faults.Tests.Harness;

/// <summary>What a cell found: the invariant's counts and the worst end-to-end latency while the fault lasted.</summary>
public sealed class CellResult
{
    public required string Fault { get; init; }

    /// <summary>Payloads that got a 202.</summary>
    public long Accepted { get; init; }

    /// <summary>Rows stored (of any payload the clients sent).</summary>
    public long Stored { get; init; }

    /// <summary>Accepted, neither stored nor dead-lettered.</summary>
    public List<string> Lost { get; init; } = [];

    /// <summary>Rows beyond the first for one (session, seq).</summary>
    public long Duplicated { get; init; }

    /// <summary>Rows whose seq is lower than the previous one of its session in applied order.</summary>
    public List<string> Reordered { get; init; } = [];

    public List<string> DeadLettered { get; init; } = [];

    /// <summary>Stored bytes that differ from what the client sent for that (session, seq).</summary>
    public List<string> Corrupt { get; init; } = [];

    /// <summary>Rows of a (session, seq) no client sent.</summary>
    public List<string> Unexpected { get; init; } = [];

    /// <summary>Payloads that never got a 202 (the load stopped while they were retried, or a non-retriable answer), and how many of them are stored.</summary>
    public long Unanswered { get; init; }

    public long UnansweredStored { get; init; }

    /// <summary>Longest time from a payload's first attempt to its row, over payloads in flight while the fault lasted.</summary>
    public TimeSpan MaxLatencyDuringFault { get; init; }

    /// <summary>Longest time without a 202 (first 202s of payloads), over the gaps that began while the fault lasted.</summary>
    public TimeSpan StallAccepted { get; init; }

    /// <summary>Longest time without a row stored, over the gaps that began while the fault lasted.</summary>
    public TimeSpan StallStored { get; init; }

    public IReadOnlyDictionary<string, long> Answers { get; init; } = new Dictionary<string, long>();

    public TimeSpan Elapsed { get; set; }

    /// <summary>Per stored payload: when it was stored and how long after its first attempt (for the soak's chart).</summary>
    public List<(DateTimeOffset StoredAt, TimeSpan Latency)> Latencies { get; init; } = [];

    public bool Holds => Lost.Count == 0 && Duplicated == 0 && Reordered.Count == 0 && Corrupt.Count == 0 && Unexpected.Count == 0;

    /// <summary>The one line a cell prints.</summary>
    public string Line() => string.Create(CultureInfo.InvariantCulture,
        $"FAULT {Fault,-28} accepted={Accepted} stored={Stored} lost={Lost.Count} duplicated={Duplicated} reordered={Reordered.Count} " +
        $"dead-lettered={DeadLettered.Count} corrupt={Corrupt.Count} unexpected={Unexpected.Count} unanswered={Unanswered}(stored {UnansweredStored}) " +
        $"max-e2e-during-fault={MaxLatencyDuringFault.TotalMilliseconds:0}ms stall-202={StallAccepted.TotalMilliseconds:0}ms " +
        $"stall-stored={StallStored.TotalMilliseconds:0}ms answers=[{string.Join(' ', Answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key.Replace(' ', '-')}:{a.Value}"))}] " +
        $"elapsed={Elapsed.TotalSeconds:0.0}s");

    /// <summary>The line, then the first few of each kind of violation.</summary>
    public string Details()
    {
        var text = new StringBuilder(Line());
        foreach (var (name, items) in new[] { ("lost", Lost), ("reordered", Reordered), ("corrupt", Corrupt), ("unexpected", Unexpected), ("dead-lettered", DeadLettered) })
        {
            foreach (var item in items.Take(10))
            {
                text.Append('\n').Append(name).Append(": ").Append(item);
            }
        }

        return text.ToString();
    }
}
