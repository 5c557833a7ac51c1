using System.Reflection;
using Confluent.Kafka;
using Ingest.Hosting.Kafka;
using Microsoft.Extensions.Configuration;

namespace Ingest.Deployment.Tests;

/// <summary>
/// Whether a configuration key (an environment variable as compose sets it, <c>A__B</c> meaning <c>A:B</c>) is one the
/// code reads. Found in the code itself, not in a list kept beside it:
/// <list type="bullet">
/// <item>every options type of the API, the worker and their libraries that names its section in a
/// <c>const string Section</c>: the key is bound to a fresh instance by the real configuration binder with
/// <see cref="BinderOptions.ErrorOnUnknownConfiguration"/>, so a misspelt property (or a value the type cannot take)
/// throws;</item>
/// <item>every single key the code names in a <c>const string …Key</c> (<c>ConnectionStrings:Ingest</c>,
/// <c>Ingest:Topic</c>, <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, …);</item>
/// <item><c>Kafka:*</c>, passed to librdkafka as is (<see cref="KafkaSettings"/>): <c>Kafka:BootstrapServers</c> or a
/// property name that Confluent.Kafka's configuration classes know;</item>
/// <item>the few keys read by hand under a per-project name (<see cref="ReadByHand"/>) and the framework's own.</item>
/// </list>
/// </summary>
public static class ConfigurationKeys
{
    /// <summary>Keys the code reads with <c>configuration[…]</c> under a name it does not know in advance.</summary>
    private static readonly string[][] ReadByHand =
    [
        ["Ingest", "Projects", "*", "Retention"], // Ingest.Storage RetentionPolicy.Read
    ];

    /// <summary>Configuration read by ASP.NET Core and the .NET host themselves.</summary>
    private static readonly string[] FrameworkKeys = ["ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"];

    private static readonly Assembly[] Assemblies =
    [
        typeof(Ingest.Api.Auth.IngestOptions).Assembly,
        typeof(Ingest.Worker.Consuming.WorkerOptions).Assembly,
        typeof(KafkaSettings).Assembly,
        typeof(Ingest.Storage.Lifecycle.LifecycleOptions).Assembly,
    ];

    /// <summary>(section, options type) for every type that names its section.</summary>
    public static IReadOnlyList<(string Section, Type Type)> Sections { get; } =
        [.. Assemblies.SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string) && x.Type != typeof(KafkaSettings))
            .Select(x => ((string)x.Field!.GetRawConstantValue()!, x.Type))];

    /// <summary>Every <c>const string …Key</c> of the code that is a configuration key.</summary>
    public static IReadOnlySet<string> NamedKeys { get; } =
        Assemblies.SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string) && f.Name.Length > 3 && f.Name.EndsWith("Key", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>librdkafka property names, as Confluent.Kafka's configuration classes set them.</summary>
    public static IReadOnlySet<string> KafkaProperties { get; } = LibrdkafkaPropertyNames();

    /// <summary>The configuration path of an environment variable: <c>A__B</c> is <c>A:B</c>, as .NET reads it.</summary>
    public static string PathOf(string environmentVariable) => environmentVariable.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>Null when the code reads <paramref name="path"/>, otherwise why not.</summary>
    public static string? Check(string path, string value)
    {
        if (NamedKeys.Contains(path) || FrameworkKeys.Contains(path, StringComparer.OrdinalIgnoreCase)
            || path.StartsWith("Logging:LogLevel:", StringComparison.OrdinalIgnoreCase)
            || ReadByHand.Any(pattern => Matches(pattern, path.Split(':'))))
        {
            return null;
        }

        if (path.StartsWith(KafkaSettings.Section + ":", StringComparison.OrdinalIgnoreCase))
        {
            var property = path[(KafkaSettings.Section.Length + 1)..];
            return KafkaProperties.Contains(property) ? null : $"'{property}' is not a librdkafka property (nor BootstrapServers)";
        }

        var reasons = new List<string>();
        foreach (var (section, type) in Sections.Where(s => path.StartsWith(s.Section + ":", StringComparison.OrdinalIgnoreCase)))
        {
            var relative = path[(section.Length + 1)..];
            try
            {
                var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(relative, value)]).Build();
                _ = configuration.Get(type, o => o.ErrorOnUnknownConfiguration = true);
                return null;
            }
            catch (InvalidOperationException e)
            {
                reasons.Add($"{type.Name} ({section}): {e.Message}");
            }
        }

        return reasons.Count > 0
            ? string.Join("; ", reasons)
            : $"no options type binds a section of it (sections: {string.Join(", ", Sections.Select(s => s.Section).Distinct())})";
    }

    private static bool Matches(string[] pattern, string[] segments) =>
        pattern.Length == segments.Length
        && pattern.Zip(segments).All(p => p.First == "*" || string.Equals(p.First, p.Second, StringComparison.OrdinalIgnoreCase));

    private static HashSet<string> LibrdkafkaPropertyNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { "BootstrapServers" };
        foreach (var config in new ClientConfig[] { new ConsumerConfig(), new ProducerConfig(), new AdminClientConfig() })
        {
            foreach (var property in config.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0))
            {
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                object? sample = type == typeof(string) ? "x"
                    : type == typeof(bool) ? true
                    : type.IsEnum ? Enum.GetValues(type).GetValue(0)
                    : type.IsPrimitive ? Convert.ChangeType(1, type, System.Globalization.CultureInfo.InvariantCulture)
                    : null;
                if (sample is not null)
                {
                    property.SetValue(config, sample);
                }
            }

            names.UnionWith(config.Select(p => p.Key));
        }

        return names;
    }
}
