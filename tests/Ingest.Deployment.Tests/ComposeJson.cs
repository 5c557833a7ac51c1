using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ingest.Deployment.Tests;

/// <summary>
/// A compose file as the JSON the Compose Specification's schema describes: YAML scalars typed by the YAML core schema
/// (a quoted scalar is always a string), merge keys (<c>&lt;&lt;: *anchor</c>) applied, and an override file merged over a
/// base as <c>docker compose -f base -f override</c> does for the shapes used here (mappings merged key by key, the
/// override's scalars and sequences winning).
/// </summary>
public static partial class ComposeJson
{
    public static JsonObject Load(string relativePath)
    {
        var path = Path.Combine(Ingest.Testing.PostgresFixture.RepositoryRoot(), relativePath);
        using var reader = new StreamReader(path);
        var yaml = new YamlStream();
        yaml.Load(reader);
        return (JsonObject)ToJson(yaml.Documents[0].RootNode)!;
    }

    /// <summary>The merged model of <paramref name="files"/>, the later ones over the earlier.</summary>
    public static JsonObject Merged(params string[] files)
    {
        var merged = new JsonObject();
        foreach (var file in files)
        {
            MergeInto(merged, Load(file));
        }

        return merged;
    }

    public static IEnumerable<(string Name, JsonObject Service)> Services(JsonObject compose) =>
        compose["services"] is JsonObject services
            ? services.Select(s => (s.Key, (JsonObject)s.Value!))
            : [];

    private static void MergeInto(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            if (target[key] is JsonObject existing && value is JsonObject overriding)
            {
                MergeInto(existing, overriding);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => ToJson(mapping),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => ToJson(scalar),
        _ => throw new NotSupportedException($"YAML node {node.NodeType} at {node.Start}"),
    };

    private static JsonObject ToJson(YamlMappingNode mapping)
    {
        var result = new JsonObject();
        var merged = new List<JsonObject>();
        foreach (var (key, value) in mapping.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            if (name == "<<")
            {
                // YAML merge key: the anchored mapping(s) supply keys this mapping does not set itself.
                merged.AddRange(value is YamlSequenceNode many ? many.Children.Select(c => (JsonObject)ToJson(c)!) : [(JsonObject)ToJson(value)!]);
                continue;
            }

            result[name] = ToJson(value);
        }

        foreach (var source in merged)
        {
            foreach (var (key, value) in source)
            {
                if (!result.ContainsKey(key))
                {
                    result[key] = value?.DeepClone();
                }
            }
        }

        return result;
    }

    private static JsonNode? ToJson(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        // The YAML 1.2 core schema's plain scalars, as compose's parser resolves them.
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (text is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
