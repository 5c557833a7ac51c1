using System.CommandLine.Parsing;
using System.Globalization;

namespace Ingest.Ops;

/// <summary>
/// Times for <c>replay --from/--to</c>: ISO 8601 (UTC when no offset is given, e.g. <c>2026-11-25T21:30:00Z</c>)
/// or relative to now (<c>-15m</c>, <c>-2h</c>, <c>-1d</c>, <c>-30s</c>).
/// </summary>
public static class ReplayTime
{
    public const string Help = "ISO 8601 (UTC unless an offset is given) or relative to now: -30s, -15m, -2h, -1d";

    /// <summary>Parses an option's token, or reports one error naming the option.</summary>
    public static DateTimeOffset? Parse(ArgumentResult result, TimeProvider time)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (TryParse(text, time.GetUtcNow(), out var value))
        {
            return value;
        }

        result.AddError($"{Name(result)} '{text}' is not a time ({Help})");
        return null;
    }

    public static bool TryParse(string text, DateTimeOffset now, out DateTimeOffset value)
    {
        value = default;
        text = text.Trim();
        if (text.Length >= 3 && text[0] == '-' && "smhd".Contains(text[^1], StringComparison.Ordinal)
            && double.TryParse(text[1..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            var span = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
            value = now - span;
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    private static string Name(ArgumentResult result) => result.Parent is OptionResult option ? option.Option.Name : "time";
}
