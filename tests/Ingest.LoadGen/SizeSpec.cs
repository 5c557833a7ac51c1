using System.Globalization;

namespace Ingest.LoadGen;

/// <summary>Payload sizes: a fixed size (<c>10KB</c>, <c>1MiB</c>, <c>512</c>) or <c>longtail</c> (10 KB … max, mostly small).</summary>
public sealed record SizeSpec(long Fixed, bool LongTail, long Max)
{
    /// <summary>Smallest payload the generator writes (valid JSON needs a few bytes).</summary>
    public const long MinSize = 32;

    private const long LongTailMin = 10 * 1000;

    /// <summary>The size of the next payload.</summary>
    public long Next(Random random)
    {
        if (!LongTail)
        {
            return Fixed;
        }

        // Log-uniform between 10 KB and Max, squared towards the small end: most payloads are tens of KB,
        // a few are megabytes, rarely one reaches Max — the shape of real recording batches.
        var u = random.NextDouble();
        var exponent = Math.Log(LongTailMin) + (u * u * u) * (Math.Log(Max) - Math.Log(LongTailMin));
        return Math.Clamp((long)Math.Exp(exponent), LongTailMin, Max);
    }

    public override string ToString() => LongTail ? $"longtail(10KB..{Format(Max)})" : Format(Fixed);

    public static bool TryParse(string text, long max, out SizeSpec? spec, out string? error)
    {
        spec = null;
        error = null;
        if (string.Equals(text, "longtail", StringComparison.OrdinalIgnoreCase))
        {
            if (max < LongTailMin)
            {
                error = $"--max-size must be at least 10KB for longtail, got {max}";
                return false;
            }

            spec = new SizeSpec(0, true, max);
            return true;
        }

        if (!TryParseBytes(text, out var size) || size < MinSize)
        {
            error = $"invalid size '{text}': expected a byte count of at least {MinSize} such as 512, 10KB, 1MiB, or 'longtail'";
            return false;
        }

        spec = new SizeSpec(size, false, size);
        return true;
    }

    /// <summary>Parses <c>512</c>, <c>10KB</c> (10,000), <c>10KiB</c> (10,240), <c>1MB</c>, <c>1MiB</c>, <c>1GB</c>.</summary>
    public static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        var t = text.Trim();
        var digits = 0;
        while (digits < t.Length && char.IsAsciiDigit(t[digits]))
        {
            digits++;
        }

        if (digits == 0 || !long.TryParse(t.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        long? multiplier = t[digits..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" => 1000,
            "KIB" => 1024,
            "MB" => 1000 * 1000,
            "MIB" => 1024 * 1024,
            "GB" => 1000 * 1000 * 1000,
            "GIB" => 1024L * 1024 * 1024,
            _ => null,
        };
        if (multiplier is null || n > long.MaxValue / multiplier.Value)
        {
            return false;
        }

        bytes = n * multiplier.Value;
        return true;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
        >= 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
