using Ingest.Contracts.Codec;

namespace Ingest.Contracts.Tests;

public sealed class DecodedBlockTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(70_000)]
    public void A_block_decodes_into_a_pooled_buffer_of_its_decoded_length(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);

        using var decoded = DecodedBlock.Decode(PayloadCodec.Encode(bytes));

        Assert.Equal(length, decoded.Length);
        Assert.Equal(bytes, decoded.Span.ToArray());
    }

    [Fact]
    public void A_corrupt_block_throws_and_a_disposed_one_is_not_readable()
    {
        var encoded = PayloadCodec.Encode("some bytes"u8);
        encoded[^1] ^= 1;

        Assert.Throws<PayloadFormatException>(() => DecodedBlock.Decode(encoded));
        var block = DecodedBlock.Decode(PayloadCodec.Encode("x"u8));
        block.Dispose();
        block.Dispose();
        Assert.Throws<ObjectDisposedException>(() => block.Memory);
    }
}
