
namespace Ingest.LoadGen.Tests;

public sealed class SizeSpecTests
{
    [Theory]
    [InlineData("512", 512L)]
    [InlineData("10KB", 10_000L)]
    [InlineData("10KiB", 10_240L)]
    [InlineData("1MiB", 1_048_576L)]
    [InlineData("100mb", 100_000_000L)]
    public void Sizes_parse(string text, long expected)
    {
        Assert.True(SizeSpec.TryParse(text, long.MaxValue, out var spec, out _));
        Assert.Equal(expected, spec!.Next(new Random(1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("KB")]
    [InlineData("10XB")]
    [InlineData("-5")]
    [InlineData("31")]
    [InlineData("99999999999999999999GB")]
    public void Bad_sizes_are_refused_with_a_message(string text)
    {
        Assert.False(SizeSpec.TryParse(text, long.MaxValue, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Longtail_stays_within_bounds_and_is_mostly_small()
    {
        Assert.True(SizeSpec.TryParse("longtail", 100L * 1024 * 1024, out var spec, out _));
        var random = new Random(5);
        var sizes = Enumerable.Range(0, 10_000).Select(_ => spec!.Next(random)).ToArray();

        Assert.All(sizes, s => Assert.InRange(s, 10_000L, 100L * 1024 * 1024));
        Assert.True(sizes.Count(s => s < 1_000_000) > 5_000, "most payloads should be under 1 MB");
        Assert.Contains(sizes, s => s > 10_000_000);
    }

    [Theory]
    [InlineData("--sessions", "0")]
    [InlineData("--size", "huge")]
    [InlineData("--url", "ftp://x")]
    [InlineData("--no-such-option", "1")]
    [InlineData("--rate", "-1")]
    public async Task Bad_arguments_exit_2(string option, string value)
    {
        Assert.Equal(2, await Program.Main([option, value]));
    }
}
