using Ingest.Worker.Durability;

namespace Ingest.Worker.Tests.Durability;

/// <summary>The payload topic settings the worker refuses to start on, and those it only warns about.</summary>
public sealed class TopicDurabilityRulesTests
{
    private static readonly TimeSpan Week = TimeSpan.FromDays(7);

    [Theory]
    [InlineData(3, "2", "false", "delete", "604800000")] // compose's HA profile
    [InlineData(1, "1", "false", "delete", "604800000")] // compose's single broker
    [InlineData(2, "1", "false", "delete", "-1")]
    [InlineData(3, "3", "false", "delete", "604800000")]
    public void Durable_settings_have_no_findings(int replicationFactor, string minIsr, string unclean, string cleanup, string retention)
    {
        Assert.Empty(Evaluate(replicationFactor, ("min.insync.replicas", minIsr), ("unclean.leader.election.enable", unclean),
            ("cleanup.policy", cleanup), ("retention.ms", retention), ("retention.bytes", "-1")));
    }

    [Theory]
    [InlineData(3, "min.insync.replicas", "1", "lets acks=all succeed on one broker")]
    [InlineData(5, "min.insync.replicas", "1", "set min.insync.replicas to 4")]
    [InlineData(1, "min.insync.replicas", "2", "acks=all can never be met")]
    [InlineData(3, "min.insync.replicas", "4", "more than its replication factor 3")]
    [InlineData(3, "unclean.leader.election.enable", "true", "out-of-sync replica")]
    [InlineData(3, "cleanup.policy", "compact", "set cleanup.policy=delete")]
    [InlineData(3, "cleanup.policy", "delete,compact", "compacts by key")]
    public void Settings_that_lose_accepted_payloads_refuse_start_naming_topic_and_setting(int replicationFactor, string setting, string value, string why)
    {
        var finding = Assert.Single(Evaluate(replicationFactor, (setting, value)));

        Assert.Equal(FindingSeverity.Refuse, finding.Severity);
        Assert.Equal(setting, finding.Setting);
        Assert.StartsWith($"topic payloads: {setting}={value}", finding.Message, StringComparison.Ordinal);
        Assert.Contains(why, finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("retention.ms", "86400000", "shorter than Worker:OutagePromise")]
    [InlineData("retention.bytes", "1073741824", "deletes a partition's oldest payloads")]
    public void Retention_shorter_than_the_promise_only_warns(string setting, string value, string why)
    {
        var finding = Assert.Single(Evaluate(3, (setting, value)));

        Assert.Equal(FindingSeverity.Warn, finding.Severity);
        Assert.Contains(why, finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retention_at_the_promise_or_infinite_is_fine_and_unparseable_or_missing_values_are_not_findings()
    {
        Assert.Empty(Evaluate(3, ("retention.ms", "604800000")));
        Assert.Empty(Evaluate(3, ("retention.ms", "-1")));
        Assert.Empty(Evaluate(3, ("min.insync.replicas", null), ("cleanup.policy", ""), ("retention.ms", "soon")));
    }

    private static IReadOnlyList<DurabilityFinding> Evaluate(int replicationFactor, params (string Key, string? Value)[] configs) =>
        TopicDurabilityRules.Evaluate("payloads", replicationFactor, configs.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal), Week);
}
