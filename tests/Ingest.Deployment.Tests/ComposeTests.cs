using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using static Ingest.Deployment.Tests.ComposeFile;

namespace Ingest.Deployment.Tests;

/// <summary>
/// docker/compose.yaml cannot be run here (no Docker engine), so its contract is checked as data:
/// services, ports, start-up order, health checks, grace periods and configuration keys.
/// </summary>
public sealed partial class ComposeTests
{
    private static readonly ComposeFile Compose = Load("docker/compose.yaml");
    private static readonly ComposeFile Ha = Load("docker/compose.ha.yaml");

    [Fact]
    public void Has_the_services_of_the_pipeline()
    {
        Assert.Equal(
            ["api", "kafka", "kafka-ui", "postgres", "topics", "worker"],
            Compose.Services.Children.Keys.Select(k => ((YamlScalarNode)k).Value).Order());
    }

    [Fact]
    public void Kafka_runs_in_KRaft_mode_from_the_official_image_without_unclean_elections_or_auto_created_topics()
    {
        var kafka = Compose.Service("kafka");
        var env = Environment(kafka);

        Assert.StartsWith("apache/kafka:", Scalar(kafka, "image"), StringComparison.Ordinal);
        Assert.Contains("controller", env["KAFKA_PROCESS_ROLES"], StringComparison.Ordinal);
        Assert.Equal("false", env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"]);
        Assert.Equal("false", env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]);
        Assert.NotNull(Child(kafka, "healthcheck"));
    }

    [Fact]
    public void Api_and_worker_are_configured_only_through_the_documented_configuration_keys()
    {
        foreach (var name in new[] { "api", "worker" })
        {
            foreach (var key in Environment(Compose.Service(name)).Keys.Concat(Environment(Ha.Service(name)).Keys))
            {
                Assert.True(DocumentedKey().IsMatch(key), $"{name}: '{key}' is not a configuration key of the contract (Ingest.Contracts/CONTRACT.md)");
            }

            Assert.Contains("Kafka__BootstrapServers", Environment(Compose.Service(name)).Keys);
            Assert.Contains("ConnectionStrings__Ingest", Environment(Compose.Service(name)).Keys);
        }

        Assert.Contains(Environment(Compose.Service("api")).Keys, k => k.EndsWith("__Sha256", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_variable_compose_requires_is_exported_by_up_sh_and_the_demo_page_is_on()
    {
        var text = Read("docker/compose.yaml") + Read("docker/compose.ha.yaml");
        var required = RequiredVariable().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
        var export = Regex.Match(Read("docker/up.sh"), @"export (INGEST_HTTP_PORT=.*?)\n\s*files=", RegexOptions.Singleline);

        Assert.True(export.Success, "docker/up.sh exports nothing before it runs compose");
        Assert.NotEmpty(required);
        Assert.All(required, name => Assert.Contains($"{name}=", export.Groups[1].Value, StringComparison.Ordinal));
        var api = Environment(Compose.Service("api"));
        Assert.Equal("true", api["Api__Demo__Enabled"]);
        Assert.Equal("ingest", api[$"Ingest__Projects__{api["Api__Demo__Project"]}__Keys__0__Scopes"]);
    }

    [Fact]
    public void Api_listens_on_the_dev_port_on_loopback_and_workers_publish_no_port_so_they_scale()
    {
        var ports = ((YamlSequenceNode)Child(Compose.Service("api"), "ports")!).Children.Select(p => ((YamlScalarNode)p).Value).ToList();
        Assert.Contains("127.0.0.1:${INGEST_HTTP_PORT:-8080}:8080", ports);

        var worker = Compose.Service("worker");
        Assert.Null(Child(worker, "ports"));
        Assert.Null(Child(worker, "container_name"));
        Assert.NotNull(Child((YamlMappingNode)Child(worker, "deploy")!, "replicas"));
    }

    [Theory]
    [InlineData("api")]
    [InlineData("worker")]
    public void Starts_after_the_topics_exist_and_the_database_is_healthy(string service)
    {
        var dependsOn = (YamlMappingNode)Child(Compose.Service(service), "depends_on")!;
        Assert.Equal("service_completed_successfully", Scalar((YamlMappingNode)Child(dependsOn, "topics")!, "condition"));
        Assert.Equal("service_healthy", Scalar((YamlMappingNode)Child(dependsOn, "postgres")!, "condition"));
    }

    [Theory]
    [InlineData("api")]
    [InlineData("worker")]
    public void Stop_grace_period_is_longer_than_the_worker_drain(string service)
    {
        var grace = Seconds(Scalar(Compose.Service(service), "stop_grace_period")!);

        // The worker drains lanes for up to Worker:ShutdownDrainTimeout (20 s by default), then commits and
        // leaves the group; Docker's default 10 s would SIGKILL it mid-drain.
        Assert.True(grace > 20 + 10, $"{service}: stop_grace_period {grace} s leaves no room for a 20 s drain and the commit");
    }

    [Fact]
    public void Topics_are_provisioned_durably_and_never_recompressed_by_the_broker()
    {
        var topics = Compose.Service("topics");
        var command = string.Join('\n', ((YamlSequenceNode)Child(topics, "command")!).Children.Select(c => ((YamlScalarNode)c).Value));

        foreach (var setting in new[] { "compression.type=producer", "unclean.leader.election.enable=false", "cleanup.policy=delete", "min.insync.replicas", "retention.ms", "max.message.bytes", "--if-not-exists" })
        {
            Assert.Contains(setting, command, StringComparison.Ordinal);
        }

        Assert.Contains("ingest.payloads.dlq", command, StringComparison.Ordinal);
        Assert.Equal("12", Environment(topics)["INGEST_TOPIC_PARTITIONS"]);
    }

    [Fact]
    public void Three_broker_overlay_replicates_three_ways_with_two_in_sync_replicas()
    {
        var voters = new[] { "kafka", "kafka-2", "kafka-3" }
            .Select(name => Environment(Ha.Service(name))["KAFKA_CONTROLLER_QUORUM_VOTERS"])
            .Distinct().ToList();
        Assert.Single(voters);
        Assert.Equal(3, voters[0].Split(',').Length);
        Assert.Equal(["2", "3"], new[] { "kafka-2", "kafka-3" }.Select(n => Environment(Ha.Service(n))["KAFKA_NODE_ID"]));
        Assert.Equal("3", Environment(Ha.Service("topics"))["INGEST_TOPIC_REPLICATION"]);
        Assert.Equal("2", Environment(Ha.Service("topics"))["INGEST_TOPIC_MIN_ISR"]);
    }

    [Theory]
    [InlineData("docker/Dockerfile.api", "Ingest.Api.dll")]
    [InlineData("docker/Dockerfile.worker", "Ingest.Worker.dll")]
    public void Images_are_multi_stage_and_run_as_a_non_root_user(string dockerfile, string entry)
    {
        var lines = File.ReadAllLines(Path.Combine(Ingest.Testing.PostgresFixture.RepositoryRoot(), dockerfile));

        Assert.Equal(2, lines.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:", StringComparison.Ordinal));
        Assert.Contains("USER app", lines);
        Assert.Contains(lines, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal) && l.Contains(entry, StringComparison.Ordinal));
    }

    [Fact]
    public void Worker_image_ships_the_ops_tool_on_PATH_from_its_one_project()
    {
        var dockerfile = Read("docker/Dockerfile.worker");
        var wrapper = Read("docker/ingest-ops").Split('\n');

        var publish = Regex.Match(dockerfile, @"dotnet publish tests/Ingest\.Ops/Ingest\.Ops\.csproj -c Release -o (\S+)");
        Assert.True(publish.Success, "docker/Dockerfile.worker does not publish tests/Ingest.Ops");
        var folder = publish.Groups[1].Value;
        Assert.Contains($"COPY --from=build {folder} {folder}", dockerfile, StringComparison.Ordinal);
        Assert.Contains("COPY --chmod=0755 docker/ingest-ops /usr/local/bin/ingest-ops", dockerfile, StringComparison.Ordinal);
        Assert.Equal("#!/bin/sh", wrapper[0]);
        Assert.Contains($"exec dotnet {folder}/ingest-ops.dll \"$@\"", wrapper);
        Assert.Contains("<AssemblyName>ingest-ops</AssemblyName>", Read("tests/Ingest.Ops/Ingest.Ops.csproj"), StringComparison.Ordinal);
    }

    [Fact]
    public void Api_image_builds_the_browser_client_from_its_own_folder()
    {
        Assert.Contains("COPY Ingest.Recorder/ Ingest.Recorder/", Read("docker/Dockerfile.api"), StringComparison.Ordinal);
        Assert.Contains("Ingest.Recorder/dist", Read("docker/Dockerfile.api.dockerignore").Split('\n'));
        Assert.Contains("<Import Project=\"../Ingest.Recorder/Recorder.targets\" />", Read("Ingest.Api/Ingest.Api.csproj"), StringComparison.Ordinal);
    }

    private static string Read(string relativePath) =>
        File.ReadAllText(Path.Combine(Ingest.Testing.PostgresFixture.RepositoryRoot(), relativePath));

    [GeneratedRegex(@"^(Kafka__[A-Za-z0-9._]+|ConnectionStrings__Ingest|Ingest__Topic|Ingest__Projects__[A-Za-z0-9_-]+__(Keys__\d+__(Sha256|Scopes)|AllowedOrigins__\d+)|Api__Demo__(Enabled|Project|IngestKey)|ASPNETCORE_URLS)$")]
    private static partial Regex DocumentedKey();

    /// <summary>A compose interpolation that fails when the variable is unset: <c>${NAME:?message}</c>.</summary>
    [GeneratedRegex(@"\$\{([A-Z0-9_]+):\?")]
    private static partial Regex RequiredVariable();
}
