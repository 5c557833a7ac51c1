using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Ingest.Deployment.Tests;

/// <summary>
/// What can be known of docker/ without a Docker engine (there is none here, and nothing is built): both compose files,
/// and the three-broker file merged over the base, are valid against the Compose Specification's JSON schema (vendored
/// in docker/schema, see SOURCE.md there); every image is pinned to a version; every long-running service has a
/// healthcheck; the API and worker images run as a non-root user; and every configuration key compose gives the API
/// and the worker is one the code reads.
/// </summary>
public sealed partial class ComposeSchemaTests
{
    private const string Base = "docker/compose.yaml";
    private const string Ha = "docker/compose.ha.yaml";

    private static readonly Lazy<JsonSchema> Schema = new(LoadSchema);

    /// <summary>Each file alone, and the overlay merged over the base (what <c>up.sh --brokers 3</c> runs).</summary>
    public static TheoryData<string> Models => ["base", "ha", "ha over base"];

    /// <summary>What runs: the overlay alone defines only parts of its services.</summary>
    public static TheoryData<string> RunnableModels => ["base", "ha over base"];

    public static TheoryData<string> Dockerfiles => ["docker/Dockerfile.api", "docker/Dockerfile.worker"];

    [Theory]
    [MemberData(nameof(Models))]
    public void Is_valid_against_the_Compose_Specification_schema(string model)
    {
        var json = JsonSerializer.SerializeToElement(Model(model));

        var result = Schema.Value.Evaluate(json, new EvaluationOptions { OutputFormat = OutputFormat.List });

        var errors = result.Details?
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.SchemaLocation}): {e.Key}: {e.Value}"))
            .ToList() ?? [];
        Assert.True(result.IsValid, $"{model} is not a valid compose file:\n{string.Join('\n', errors)}");
    }

    [Fact]
    public void The_schema_check_rejects_what_compose_would_reject()
    {
        // The validator really applies the schema: an unknown service key and a wrong type are refused.
        var broken = Model("base");
        broken["services"]!["api"]!["stop_grace_periodd"] = "45s";
        broken["services"]!["worker"]!["deploy"]!["replicas"] = new JsonArray(1);

        Assert.False(Schema.Value.Evaluate(JsonSerializer.SerializeToElement(broken)).IsValid);
    }

    [Theory]
    [MemberData(nameof(RunnableModels))]
    public void Every_image_is_pinned_to_a_version(string model)
    {
        foreach (var (name, service) in ComposeJson.Services(Model(model)))
        {
            if (service["image"]?.GetValue<string>() is { } image)
            {
                Assert.True(PinError(image) is null, $"{model}: service '{name}': {PinError(image)}");
            }
            else
            {
                Assert.True(service["build"] is not null, $"{model}: service '{name}' has neither an image nor a build");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_base_image_of_the_Dockerfiles_is_pinned_to_a_version(string dockerfile)
    {
        var stages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var from in Lines(dockerfile).Where(l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase)))
        {
            var match = From().Match(from);
            Assert.True(match.Success, $"{dockerfile}: cannot read '{from}'");
            var image = match.Groups["image"].Value;
            if (!stages.Contains(image))
            {
                Assert.True(PinError(image) is null, $"{dockerfile}: {PinError(image)}");
            }

            if (match.Groups["stage"].Success)
            {
                stages.Add(match.Groups["stage"].Value);
            }
        }
    }

    [Theory]
    [InlineData("apache/kafka:latest", false)]
    [InlineData("apache/kafka", false)]
    [InlineData("postgres:15", false)]
    [InlineData("postgres:bookworm", false)]
    [InlineData("postgres:15-bookworm", false)]
    [InlineData("apache/kafka:4.1", false)]
    [InlineData("mcr.microsoft.com/dotnet/aspnet:10.0", false)]
    [InlineData("mcr.microsoft.com/dotnet/sdk:10.0-noble", false)]
    [InlineData("localhost:5000/postgres", false)]
    [InlineData("apache/kafka:4.1.0", true)]
    [InlineData("postgres:15.18-bookworm", true)]
    [InlineData("provectuslabs/kafka-ui:v0.7.2", true)]
    [InlineData("mcr.microsoft.com/dotnet/aspnet:10.0.12-noble", true)]
    [InlineData("localhost:5000/postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    public void A_pin_is_a_full_version_or_a_digest(string image, bool pinned) =>
        Assert.Equal(pinned, PinError(image) is null);

    [Theory]
    [MemberData(nameof(RunnableModels))]
    public void Every_long_running_service_has_a_healthcheck(string model)
    {
        var compose = Model(model);
        var services = ComposeJson.Services(compose).ToList();

        // One-shot services are those something waits on to complete (topics); the rest run until stopped.
        var oneShot = services
            .SelectMany(s => s.Service["depends_on"] is JsonObject d ? d : [])
            .Where(d => d.Value?["condition"]?.GetValue<string>() == "service_completed_successfully")
            .Select(d => d.Key)
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("topics", oneShot);

        foreach (var (name, service) in services.Where(s => !oneShot.Contains(s.Name)))
        {
            var healthcheck = service["healthcheck"] as JsonObject;
            Assert.True(healthcheck?["test"] is not null, $"{model}: long-running service '{name}' has no healthcheck test");
            Assert.NotEqual(true, healthcheck!["disable"]?.GetValue<bool>());
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void The_runtime_image_runs_as_a_non_root_user(string dockerfile)
    {
        var lines = Lines(dockerfile);
        var finalStage = lines.Skip(lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase))).ToList();
        var user = finalStage.LastOrDefault(l => l.StartsWith("USER ", StringComparison.OrdinalIgnoreCase));

        Assert.True(user is not null, $"{dockerfile}: the final stage sets no USER, so it runs as root");
        var name = user[5..].Trim().Split(':')[0];
        Assert.True(name is not ("root" or "0"), $"{dockerfile}: the final stage runs as '{name}'");
    }

    [Theory]
    [MemberData(nameof(RunnableModels))]
    public void Compose_puts_no_service_back_to_root(string model)
    {
        foreach (var (service, definition) in ComposeJson.Services(Model(model)))
        {
            var user = definition["user"]?.ToString().Split(':')[0];
            Assert.True(user is not ("root" or "0"), $"{model}: service '{service}' runs as root (user: {definition["user"]})");
        }
    }

    [Theory]
    [InlineData("api")]
    [InlineData("worker")]
    public void Every_configuration_key_compose_sets_is_read_by_the_code(string service)
    {
        foreach (var model in new[] { "base", "ha over base" })
        {
            var environment = ComposeJson.Services(Model(model)).Single(s => s.Name == service).Service["environment"] as JsonObject;
            Assert.NotNull(environment);
            foreach (var (variable, value) in environment)
            {
                var path = ConfigurationKeys.PathOf(variable);
                var problem = ConfigurationKeys.Check(path, Interpolated(value?.ToString() ?? ""));
                Assert.True(problem is null, $"{model}: {service}: {variable} ({path}) is not a configuration key of the code: {problem}");
            }
        }
    }

    [Theory]
    [InlineData("Kafka:BootstrapServers", true)]
    [InlineData("Kafka:group.protocol", true)]
    [InlineData("Kafka:security.protocol", true)]
    [InlineData("Kafka:BootstrapServer", false)]
    [InlineData("Kafka:group.protocoll", false)]
    [InlineData("ConnectionStrings:Ingest", true)]
    [InlineData("ConnectionStrings:Ingst", false)]
    [InlineData("Worker:GroupId", true)]
    [InlineData("Worker:GroupID", true)] // the binder ignores case, as .NET configuration does
    [InlineData("Worker:GroupIds", false)]
    [InlineData("Worker:OutagePromise", true)] // DurabilityCheckOptions, the same section
    [InlineData("Ingest:Topic", true)]
    [InlineData("Ingest:Projects:dev:Keys:0:Sha256", true)]
    [InlineData("Ingest:Projects:dev:Keys:0:Sha265", false)]
    [InlineData("Ingest:Projects:dev:Retention", true)]
    [InlineData("Ingest:Lifecycle:DefaultRetention", true)]
    [InlineData("Ingest:Lifecycle:DefaultRetentions", false)]
    [InlineData("Api:WorkerGroupId", true)]
    [InlineData("Apis:WorkerGroupId", false)]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", true)]
    public void The_key_check_tells_real_keys_from_misspelt_ones(string path, bool real)
    {
        var value = path.EndsWith("Retention", StringComparison.Ordinal) || path.EndsWith("Retentions", StringComparison.Ordinal) || path.EndsWith("Promise", StringComparison.Ordinal)
            ? "7.00:00:00"
            : "x";
        Assert.True(real == ConfigurationKeys.Check(path, value) is null, $"{path}: {ConfigurationKeys.Check(path, value)}");
    }

    private static JsonSchema LoadSchema()
    {
        // The schema names its meta-schema as https://json-schema.org/draft-07/schema (no '#', https): draft-07 under the
        // id it uses, so the vendored file stays byte for byte as published.
        var draft07 = Dialect.Draft07.With([], new Uri("https://json-schema.org/draft-07/schema"));
        var dialects = new DialectRegistry();
        dialects.Register(draft07);
        return JsonSchema.FromFile(
            Path.Combine(Ingest.Testing.PostgresFixture.RepositoryRoot(), "docker", "schema", "compose-spec.json"),
            new BuildOptions { Dialect = draft07, DialectRegistry = dialects });
    }

    private static JsonObject Model(string model) => model switch
    {
        "base" => ComposeJson.Load(Base),
        "ha" => ComposeJson.Load(Ha),
        "ha over base" => ComposeJson.Merged(Base, Ha),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, null),
    };

    /// <summary>Null when <paramref name="image"/> names a version (a tag with a digit, not <c>latest</c>) or a digest.</summary>
    private static string? PinError(string image)
    {
        if (image.Contains("@sha256:", StringComparison.Ordinal))
        {
            return null;
        }

        // The tag follows the last ':' after the last '/' (a registry's port comes before the path).
        var name = image[(image.LastIndexOf('/') + 1)..];
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return $"'{image}' has no tag: it means latest";
        }

        var tag = name[(colon + 1)..];
        var version = Version().Match(tag);
        if (string.Equals(tag, "latest", StringComparison.OrdinalIgnoreCase) || !version.Success)
        {
            return $"'{image}': tag '{tag}' is not a version";
        }

        // A full version: major.minor.patch (10.0 or 4.1 alone float to the next patch); PostgreSQL's own versions have two
        // parts since 10 (15.18), so there major.minor is the full version.
        var parts = version.Groups["version"].Value.Split('.').Length;
        var needed = name.StartsWith("postgres:", StringComparison.Ordinal) ? 2 : 3;
        return parts >= needed ? null : $"'{image}': tag '{tag}' floats (a full version has {needed} parts)";
    }

    /// <summary>Compose interpolation with a default (<c>${VAR:-default}</c>) resolved to its default.</summary>
    private static string Interpolated(string value) => DefaultInterpolation().Replace(value, m => m.Groups["default"].Value);

    private static List<string> Lines(string relativePath) =>
        [.. File.ReadAllLines(Path.Combine(Ingest.Testing.PostgresFixture.RepositoryRoot(), relativePath)).Select(l => l.Trim())];

    [GeneratedRegex(@"^FROM\s+(--platform=\S+\s+)?(?<image>\S+)(\s+AS\s+(?<stage>\S+))?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex From();

    // A version, then perhaps a variant: 4.1.0, 15.18-bookworm, v0.7.2, 10.0.401-noble.
    [GeneratedRegex(@"^v?(?<version>[0-9]+(\.[0-9]+)*)(-[A-Za-z0-9._-]+)?$")]
    private static partial Regex Version();

    [GeneratedRegex(@"\$\{[A-Za-z_][A-Za-z0-9_]*:?-(?<default>[^}]*)\}")]
    private static partial Regex DefaultInterpolation();
}
