using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Ingest.Contracts;

namespace Ingest.DevStack;

/// <summary>Command line of the embedded broker: <c>--brokers N --partitions N --topic NAME --bootstrap-file PATH</c>.</summary>
public sealed record EmbeddedBrokerOptions(int Brokers, int Partitions, string Topic, string? BootstrapFile)
{
    public static bool TryParse(
        IReadOnlyList<string> args,
        [NotNullWhen(true)] out EmbeddedBrokerOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        var brokers = 3;
        var partitions = 12;
        var topic = IngestTopics.Payloads;
        string? bootstrapFile = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                error = $"option {name} needs a value";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--brokers" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out brokers) && brokers is >= 1 and <= 9:
                    break;
                case "--partitions" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out partitions) && partitions is >= 1 and <= 1000:
                    break;
                case "--topic" when value.Length > 0:
                    topic = value;
                    break;
                case "--bootstrap-file" when value.Length > 0:
                    bootstrapFile = value;
                    break;
                case "--brokers" or "--partitions" or "--topic" or "--bootstrap-file":
                    error = $"invalid value '{value}' for {name} (brokers 1-9, partitions 1-1000)";
                    return false;
                default:
                    error = $"unknown option '{name}' (expected --brokers, --partitions, --topic, --bootstrap-file)";
                    return false;
            }
        }

        options = new EmbeddedBrokerOptions(brokers, partitions, topic, bootstrapFile);
        error = null;
        return true;
    }
}
