using YamlDotNet.RepresentationModel;

namespace Ingest.Deployment.Tests;

/// <summary>A compose file parsed as YAML (there is no Docker engine here to run it).</summary>
public sealed class ComposeFile
{
    private ComposeFile(YamlMappingNode root) => Root = root;

    public YamlMappingNode Root { get; }

    public YamlMappingNode Services => (YamlMappingNode)Root["services"];

    public static ComposeFile Load(string relativePath)
    {
        var path = Path.Combine(Ingest.Testing.PostgresFixture.RepositoryRoot(), relativePath);
        using var reader = new StreamReader(path);
        var yaml = new YamlStream();
        yaml.Load(reader);
        return new ComposeFile((YamlMappingNode)yaml.Documents[0].RootNode);
    }

    public YamlMappingNode Service(string name) =>
        Services.Children.TryGetValue(new YamlScalarNode(name), out var node)
            ? (YamlMappingNode)node
            : throw new Xunit.Sdk.XunitException($"compose has no service '{name}'");

    public static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode s ? s.Value : null;

    public static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static IReadOnlyDictionary<string, string> Environment(YamlMappingNode service) =>
        Child(service, "environment") is YamlMappingNode env
            ? env.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>();

    /// <summary>Seconds of a compose duration such as <c>45s</c> or <c>1m30s</c>.</summary>
    public static int Seconds(string duration)
    {
        var total = 0;
        var number = 0;
        foreach (var c in duration)
        {
            if (char.IsAsciiDigit(c))
            {
                number = (number * 10) + (c - '0');
                continue;
            }

            total += c switch { 'h' => number * 3600, 'm' => number * 60, 's' => number, _ => throw new FormatException(duration) };
            number = 0;
        }

        return total;
    }
}
