using System.IO.Hashing;
using System.Text.Json;
using Ingest.Contracts.Codec;

namespace Ingest.LoadGen.Tests;

public sealed class RecordingContentTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(100)]
    [InlineData(2_000)]
    [InlineData(10_000)]
    [InlineData(1_000_000)]
    public async Task Content_has_the_exact_length_and_is_valid_json(long length)
    {
        using var stream = new MemoryStream();
        var checksum = await RecordingContent.WriteAsync(7, length, stream, TestContext.Current.CancellationToken);

        Assert.Equal(length, stream.Length);
        Assert.Equal(XxHash3.HashToUInt64(stream.ToArray()), checksum);
        using var document = JsonDocument.Parse(stream.ToArray());
        Assert.NotEqual(JsonValueKind.Undefined, document.RootElement.ValueKind);
    }

    [Fact]
    public async Task Same_seed_gives_the_same_bytes_and_another_seed_other_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        using var c = new MemoryStream();
        await RecordingContent.WriteAsync(1, 50_000, a, ct);
        await RecordingContent.WriteAsync(1, 50_000, b, ct);
        await RecordingContent.WriteAsync(2, 50_000, c, ct);

        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public async Task Content_compresses_like_recordings_not_like_zeros_or_noise()
    {
        using var stream = new MemoryStream();
        await RecordingContent.WriteAsync(3, 1_000_000, stream, TestContext.Current.CancellationToken);

        var ratio = 1_000_000.0 / PayloadCodec.Encode(stream.ToArray()).Length;

        // Measured on the development machines: recording-like JSON compresses about 3.3x with LZ4 at 100 KB+.
        Assert.InRange(ratio, 2.0, 6.0);
    }
}
