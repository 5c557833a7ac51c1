using System.Text;
using Ingest.Contracts.Codec;

namespace Ingest.Contracts.Tests;

public sealed class PayloadCodecTests
{
    public static TheoryData<int> Sizes => new() { 0, 1, 17, 1024, 64 * 1024, 1024 * 1024 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Encode_then_Decode_returns_the_original_bytes(int size)
    {
        var original = RecordingLikeJson(size);

        var encoded = PayloadCodec.Encode(original);
        var decoded = PayloadCodec.Decode(encoded);

        Assert.Equal(original, decoded);
        Assert.Equal(size, PayloadCodec.GetDecodedLength(encoded));
    }

    [Fact]
    public void Compressible_payload_is_smaller_when_encoded()
    {
        var original = RecordingLikeJson(100 * 1024);

        var encoded = PayloadCodec.Encode(original);

        Assert.True(encoded.Length < original.Length / 2, $"encoded {encoded.Length} of {original.Length}");
    }

    [Fact]
    public void Incompressible_payload_is_stored_with_only_the_header_added()
    {
        var original = new byte[4096];
        new Random(7).NextBytes(original);

        var encoded = PayloadCodec.Encode(original);

        Assert.Equal(original.Length + PayloadCodec.HeaderLength, encoded.Length);
        Assert.Equal(original, PayloadCodec.Decode(encoded));
    }

    [Fact]
    public void Flipped_byte_in_the_block_is_rejected()
    {
        var encoded = PayloadCodec.Encode(RecordingLikeJson(8192));
        encoded[^20] ^= 0x5A;

        var ex = Assert.Throws<PayloadFormatException>(() => PayloadCodec.Decode(encoded));
        Assert.Contains("corrupt", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Truncated_block_is_rejected()
    {
        var encoded = PayloadCodec.Encode(RecordingLikeJson(8192));

        Assert.Throws<PayloadFormatException>(() => PayloadCodec.Decode(encoded.AsSpan(0, encoded.Length - 7)));
    }

    [Fact]
    public void Input_without_the_magic_byte_is_rejected_naming_the_format()
    {
        var ex = Assert.Throws<PayloadFormatException>(() => PayloadCodec.Decode("{\"not\":\"encoded\"}"u8));

        Assert.Contains(PayloadCodec.Name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Input_shorter_than_the_header_is_rejected()
    {
        Assert.Throws<PayloadFormatException>(() => PayloadCodec.Decode(new byte[] { 0xA7, 1, 0 }));
    }

    [Fact]
    public void Absurd_decoded_length_is_rejected_before_allocating()
    {
        var encoded = PayloadCodec.Encode(RecordingLikeJson(100));
        encoded[5] = 0xFF; // decoded length now > 4 GiB / 2

        var ex = Assert.Throws<PayloadFormatException>(() => PayloadCodec.Decode(encoded));
        Assert.Contains("limit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_block_kind_is_rejected()
    {
        var encoded = PayloadCodec.Encode(RecordingLikeJson(100));
        encoded[1] = 9;

        Assert.Throws<PayloadFormatException>(() => PayloadCodec.Decode(encoded));
    }

    /// <summary>Recording-like JSON: repetitive structure with varying values, as DOM mutation events are.</summary>
    internal static byte[] RecordingLikeJson(int size)
    {
        var random = new Random(size);
        var text = new StringBuilder(size + 128);
        while (text.Length < size)
        {
            text.Append("{\"type\":3,\"timestamp\":").Append(1_700_000_000_000L + random.Next(100_000))
                .Append(",\"data\":{\"source\":").Append(random.Next(6))
                .Append(",\"id\":").Append(random.Next(5000))
                .Append(",\"x\":").Append(random.Next(1920)).Append(",\"y\":").Append(random.Next(1080)).Append("}},");
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, size));
    }
}
