using System.Globalization;

namespace Ingest.Worker.Durability;

/// <summary>How bad a topic setting is for durability.</summary>
public enum FindingSeverity
{
    /// <summary>Accepted payloads may be lost in ordinary operation: the worker refuses to start.</summary>
    Refuse,

    /// <summary>Payloads may be lost in a long outage: the worker warns and starts.</summary>
    Warn,
}

/// <summary>One topic setting that contradicts durability, with a message naming the topic and the setting.</summary>
public sealed record DurabilityFinding(FindingSeverity Severity, string Setting, string Message);

/// <summary>
/// The payload topic's settings the API's 202 relies on (acks=all means "on every in-sync replica", which is only
/// durable with enough of them) and that keep a backlog until the workers read it.
/// </summary>
public static class TopicDurabilityRules
{
    /// <summary>Checks <paramref name="configs"/> (topic config name → value) of a topic with replication factor <paramref name="replicationFactor"/>.</summary>
    public static IReadOnlyList<DurabilityFinding> Evaluate(
        string topic, int replicationFactor, IReadOnlyDictionary<string, string?> configs, TimeSpan outagePromise)
    {
        var findings = new List<DurabilityFinding>();
        if (Int(configs, "min.insync.replicas") is { } minIsr)
        {
            if (minIsr > replicationFactor)
            {
                findings.Add(new(FindingSeverity.Refuse, "min.insync.replicas", F(
                    $"topic {topic}: min.insync.replicas={minIsr} is more than its replication factor {replicationFactor}, so acks=all can never be met and every payload would be refused; set min.insync.replicas to at most {replicationFactor}")));
            }
            else if (replicationFactor >= 3 && minIsr < 2)
            {
                findings.Add(new(FindingSeverity.Refuse, "min.insync.replicas", F(
                    $"topic {topic}: min.insync.replicas={minIsr} with replication factor {replicationFactor} lets acks=all succeed on one broker, so losing that broker loses accepted payloads; set min.insync.replicas to {replicationFactor - 1}")));
            }
        }

        if (string.Equals(Text(configs, "unclean.leader.election.enable"), "true", StringComparison.OrdinalIgnoreCase))
        {
            findings.Add(new(FindingSeverity.Refuse, "unclean.leader.election.enable",
                $"topic {topic}: unclean.leader.election.enable=true lets an out-of-sync replica become leader and drop acknowledged payloads; set it to false"));
        }

        if (Text(configs, "cleanup.policy") is { } policy && policy.Split(',').Any(p => p.Trim().Equals("compact", StringComparison.OrdinalIgnoreCase)))
        {
            findings.Add(new(FindingSeverity.Refuse, "cleanup.policy",
                $"topic {topic}: cleanup.policy={policy} compacts by key (the session), deleting all but a session's latest payload before the workers read them; set cleanup.policy=delete"));
        }

        if (Long(configs, "retention.ms") is { } retention && retention >= 0 && TimeSpan.FromMilliseconds(retention) < outagePromise)
        {
            findings.Add(new(FindingSeverity.Warn, "retention.ms", F(
                $"topic {topic}: retention.ms={retention} ({TimeSpan.FromMilliseconds(retention):g}) is shorter than Worker:OutagePromise ({outagePromise:g}); a worker outage longer than the retention loses payloads")));
        }

        if (Long(configs, "retention.bytes") is { } bytes && bytes >= 0)
        {
            findings.Add(new(FindingSeverity.Warn, "retention.bytes", F(
                $"topic {topic}: retention.bytes={bytes} deletes a partition's oldest payloads once it holds more, whether the workers read them or not; the API's backlog guard refuses new payloads (503) before an unstored backlog reaches it, so a worker outage stops ingest once {bytes} bytes wait on a partition; -1 keeps them for retention.ms")));
        }

        return findings;
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string? Text(IReadOnlyDictionary<string, string?> configs, string name) =>
        configs.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static int? Int(IReadOnlyDictionary<string, string?> configs, string name) =>
        int.TryParse(Text(configs, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static long? Long(IReadOnlyDictionary<string, string?> configs, string name) =>
        long.TryParse(Text(configs, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
