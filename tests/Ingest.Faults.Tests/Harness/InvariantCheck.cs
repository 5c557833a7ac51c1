using System.Collections.Concurrent;
using Ingest.LoadGen;
using Ingest.Testing.Hosting;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The invariant, checked from Postgres and the dead-letter topic against what the clients were told: every payload
/// that got a 202 is stored exactly once, byte-identical, in per-session order (dead letters excepted and listed);
/// a payload that got an error or no answer is absent or stored once; nothing else is stored.
/// </summary>
public static class InvariantCheck
{
    public static async Task<CellResult> RunAsync(
        string fault, FaultStack stack, Ledger ledger, DateTimeOffset faultStart, DateTimeOffset faultEnd, CancellationToken ct)
    {
        var rows = await StoredPayloads.ReadAllAsync(stack.UnpooledConnectionString, ct);
        var letters = TopicLog.DeadLetters(stack.BootstrapServers, stack.Topic, FaultStack.Partitions);
        var expectedHashes = new ConcurrentDictionary<(string, long), ulong>();
        await Parallel.ForEachAsync(rows, ct, async (row, token) =>
        {
            if (ledger.Find(row.Session, row.Seq) is { } sent)
            {
                expectedHashes[(row.Session, row.Seq)] = await RecordingContent.WriteAsync(sent.Seed, sent.Length, Stream.Null, token);
            }
        });

        var corrupt = new List<string>();
        var unexpected = new List<string>();
        var reordered = new List<string>();
        var latencies = new List<(DateTimeOffset, TimeSpan)>();
        var maxDuringFault = TimeSpan.Zero;
        foreach (var row in rows)
        {
            var sent = row.Project == TestApiKeys.Project ? ledger.Find(row.Session, row.Seq) : null;
            if (sent is null)
            {
                unexpected.Add($"{row.Project}/{row.Session}/{row.Seq} at position {row.Position}");
                continue;
            }

            if (row.Length != sent.Length || row.Hash != expectedHashes[(row.Session, row.Seq)])
            {
                corrupt.Add($"{row.Session}/{row.Seq}: {row.Length} bytes stored, {sent.Length} sent; hash differs: {row.Hash != expectedHashes[(row.Session, row.Seq)]}");
            }

            var latency = row.StoredAt - sent.FirstAttemptAt;
            latencies.Add((row.StoredAt, latency));
            if (sent.FirstAttemptAt <= faultEnd && row.StoredAt >= faultStart && latency > maxDuringFault)
            {
                maxDuringFault = latency;
            }
        }

        foreach (var session in rows.GroupBy(r => (r.Project, r.Session)))
        {
            var ordered = session.OrderBy(r => r.Position).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].Seq <= ordered[i - 1].Seq)
                {
                    reordered.Add($"{session.Key.Session}: seq {ordered[i].Seq} (position {ordered[i].Position}) after seq {ordered[i - 1].Seq} (position {ordered[i - 1].Position})");
                }
            }
        }

        var stored = rows.Select(r => (r.Session, r.Seq)).ToHashSet();
        var deadLettered = letters.Select(l => (l.Session, l.Seq)).ToHashSet();
        var accepted = ledger.Sent.Where(p => p.AcceptedAt is not null).ToList();
        var unanswered = ledger.Sent.Where(p => p.AcceptedAt is null).ToList();
        var lost = accepted.Where(p => !stored.Contains((p.Session, p.Seq)) && !deadLettered.Contains((p.Session, p.Seq))).ToList();
        // Where a lost payload is in Kafka (if anywhere) tells the API's fault from the worker's.
        var inKafka = lost.Count == 0
            ? []
            : TopicLog.Locate(stack.BootstrapServers, stack.Topic, FaultStack.Partitions, [.. lost.Select(p => (p.Session, p.Seq))]);
        return new CellResult
        {
            Fault = fault,
            Accepted = accepted.Count,
            Stored = rows.Count,
            Lost = [.. lost.Select(p => $"{p.Session}/{p.Seq} ({p.Length} bytes, accepted {p.AcceptedAt:HH:mm:ss.fff} after {p.Attempts} attempts); " +
                $"in Kafka: {(inKafka[(p.Session, p.Seq)] is { Count: > 0 } places ? string.Join(", ", places) : "nowhere")}")],
            Duplicated = rows.Count - rows.Select(r => (r.Project, r.Session, r.Seq)).Distinct().Count(),
            Reordered = reordered,
            DeadLettered = [.. letters.Select(l => $"{l.Session}/{l.Seq}: {l.Error}")],
            Corrupt = corrupt,
            Unexpected = unexpected,
            Unanswered = unanswered.Count,
            UnansweredStored = unanswered.Count(p => stored.Contains((p.Session, p.Seq))),
            MaxLatencyDuringFault = maxDuringFault,
            StallAccepted = LongestGap(accepted.Select(p => p.AcceptedAt!.Value), faultStart, faultEnd),
            StallStored = LongestGap(rows.Select(r => r.StoredAt), faultStart, faultEnd),
            Answers = new Dictionary<string, long>(ledger.Answers),
            Latencies = latencies,
        };
    }

    /// <summary>
    /// The longest stretch without an event, over the stretches that began between <paramref name="from"/> and
    /// <paramref name="to"/> (the fault's window): a stall that began during the fault counts whole, also when it outlasts
    /// the fault (a cluster still electing after its nodes are back). The window's start counts as an event.
    /// </summary>
    public static TimeSpan LongestGap(IEnumerable<DateTimeOffset> events, DateTimeOffset from, DateTimeOffset to)
    {
        var longest = TimeSpan.Zero;
        var previous = from;
        foreach (var at in events.Where(e => e > from).Order())
        {
            longest = at - previous > longest ? at - previous : longest;
            previous = at;
            if (at >= to)
            {
                return longest;
            }
        }

        // Nothing after the window: the stall lasted at least until now.
        return DateTimeOffset.UtcNow - previous > longest ? DateTimeOffset.UtcNow - previous : longest;
    }
}
