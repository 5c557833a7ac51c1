using System.IO.Compression;
using System.Text;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using K4os.Compression.LZ4.Streams;

namespace Ingest.Api.Tests.Payloads;

public sealed class PayloadBodyStreamTests
{
    private static readonly byte[] Sample = [.. Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7 % 251))];

    internal static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    internal static byte[] Lz4Frame(byte[] data, int blockSize = 64 * 1024, bool checksums = false)
    {
        using var output = new MemoryStream();
        var settings = new LZ4EncoderSettings { BlockSize = blockSize, ContentChecksum = checksums, BlockChecksum = checksums };
        using (var lz4 = LZ4Stream.Encode(output, settings, leaveOpen: true))
        {
            lz4.Write(data);
        }

        return output.ToArray();
    }

    public enum ReadOutcome
    {
        Decoded,
        Empty,
        TooLarge,
        Undecodable,
        BlockTooLarge,
    }

    public sealed record BodyRead(ReadOutcome Outcome, byte[]? Body = null, string? Error = null);

    /// <summary>Drains the stream in odd-sized reads, as the chunk reader does, into one array.</summary>
    private static async Task<BodyRead> Read(Stream body, ContentCoding coding, int limit = 1 << 20)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stream = PayloadBodyStream.Open(body, coding, limit);
        var output = new MemoryStream();
        var buffer = new byte[10_007];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, ct)) > 0)
            {
                output.Write(buffer, 0, read);
            }
        }
        catch (UploadFailedException ex)
        {
            var outcome = ex.Failure.Outcome switch
            {
                UploadOutcome.EmptyBody => ReadOutcome.Empty,
                UploadOutcome.PayloadTooLarge => ReadOutcome.TooLarge,
                UploadOutcome.Undecodable => ReadOutcome.Undecodable,
                UploadOutcome.Lz4BlockTooLarge => ReadOutcome.BlockTooLarge,
                var other => throw new InvalidOperationException($"A stream read cannot end as {other}."),
            };
            return new BodyRead(outcome, Error: ex.Message);
        }

        return new BodyRead(ReadOutcome.Decoded, output.ToArray());
    }

    [Theory]
    [InlineData(ContentCoding.Identity)]
    [InlineData(ContentCoding.Gzip)]
    [InlineData(ContentCoding.Lz4)]
    public async Task Each_coding_decodes_to_the_original_bytes(ContentCoding coding)
    {
        var wire = coding switch
        {
            ContentCoding.Gzip => Gzip(Sample),
            ContentCoding.Lz4 => Lz4Frame(Sample),
            _ => Sample,
        };

        var read = await Read(new MemoryStream(wire), coding);

        Assert.Equal(ReadOutcome.Decoded, read.Outcome);
        Assert.Equal(Sample, read.Body);
    }

    [Fact]
    public async Task Exactly_the_limit_is_accepted_one_more_byte_is_not()
    {
        var atLimit = await Read(new MemoryStream(Sample), ContentCoding.Identity, limit: Sample.Length);
        var overLimit = await Read(new MemoryStream(Sample), ContentCoding.Identity, limit: Sample.Length - 1);

        Assert.Equal(ReadOutcome.Decoded, atLimit.Outcome);
        Assert.Equal(Sample.Length, atLimit.Body!.Length);
        Assert.Equal(ReadOutcome.TooLarge, overLimit.Outcome);
        Assert.Null(overLimit.Body);
    }

    [Theory]
    [InlineData(ContentCoding.Gzip)]
    [InlineData(ContentCoding.Lz4)]
    public async Task Decompression_bomb_stops_at_the_limit_without_reading_the_rest(ContentCoding coding)
    {
        var zeros = new byte[64 * 1024 * 1024];
        var bomb = coding == ContentCoding.Gzip ? Gzip(zeros) : Lz4Frame(zeros);
        var body = new CountingStream(new MemoryStream(bomb));

        var read = await Read(body, coding, limit: 1024 * 1024);

        Assert.Equal(ReadOutcome.TooLarge, read.Outcome);
        Assert.Null(read.Body);
        // 1 MiB of 64 MiB decoded: well under a tenth of the compressed input was consumed.
        Assert.True(body.BytesRead < bomb.Length / 10, $"Read {body.BytesRead} of {bomb.Length} compressed bytes.");
    }

    [Fact]
    public async Task Empty_body_is_empty_in_every_coding()
    {
        Assert.Equal(ReadOutcome.Empty, (await Read(new MemoryStream(), ContentCoding.Identity)).Outcome);
        Assert.Equal(ReadOutcome.Empty, (await Read(new MemoryStream(Gzip([])), ContentCoding.Gzip)).Outcome);
        Assert.Equal(ReadOutcome.Empty, (await Read(new MemoryStream(Lz4Frame([])), ContentCoding.Lz4)).Outcome);
    }

    [Theory]
    [InlineData(ContentCoding.Gzip)]
    [InlineData(ContentCoding.Lz4)]
    public async Task Plain_bytes_sent_as_compressed_do_not_decode(ContentCoding coding)
    {
        var read = await Read(new MemoryStream("{\"not\":\"compressed\"}"u8.ToArray()), coding);

        Assert.Equal(ReadOutcome.Undecodable, read.Outcome);
        Assert.Null(read.Body);
        Assert.False(string.IsNullOrEmpty(read.Error));
    }

    [Theory]
    [InlineData(ContentCoding.Gzip)]
    [InlineData(ContentCoding.Lz4)]
    public async Task Truncated_compressed_body_does_not_decode(ContentCoding coding)
    {
        var random = new byte[200_000];
        new Random(7).NextBytes(random);
        var wire = coding == ContentCoding.Gzip ? Gzip(random) : Lz4Frame(random);

        var read = await Read(new MemoryStream(wire[..(wire.Length / 2)]), coding);

        Assert.Equal(ReadOutcome.Undecodable, read.Outcome);
    }

    [Fact]
    public async Task Gzip_with_a_flipped_byte_fails_its_crc()
    {
        var wire = Gzip(Sample);
        wire[wire.Length / 2] ^= 0x20;

        Assert.Equal(ReadOutcome.Undecodable, (await Read(new MemoryStream(wire), ContentCoding.Gzip)).Outcome);
    }

    [Fact]
    public async Task Lz4_frame_with_content_checksum_is_verified()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"{{\"i\":{i}}},")));
        using var output = new MemoryStream();
        using (var lz4 = LZ4Stream.Encode(output, new LZ4EncoderSettings { ContentChecksum = true }, leaveOpen: true))
        {
            lz4.Write(text);
        }

        var good = output.ToArray();
        var read = await Read(new MemoryStream(good), ContentCoding.Lz4);
        var bad = (byte[])good.Clone();
        bad[^1] ^= 0x01; // the checksum itself

        Assert.Equal(ReadOutcome.Decoded, read.Outcome);
        Assert.Equal(ReadOutcome.Undecodable, (await Read(new MemoryStream(bad), ContentCoding.Lz4)).Outcome);
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            BytesRead += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(1024 * 1024)]
    [InlineData(4 * 1024 * 1024)]
    public async Task Lz4_frames_of_blocks_above_256_KiB_are_refused_before_the_decoder_buffers_a_block(int blockSize)
    {
        var read = await Read(new MemoryStream(Lz4Frame(Sample, blockSize)), ContentCoding.Lz4);
        Assert.Equal(ReadOutcome.BlockTooLarge, read.Outcome);
        Assert.Contains($"{blockSize} bytes", read.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_later_frame_of_large_blocks_is_refused_too()
    {
        // K4os decodes concatenated frames: the guard follows blocks and frames to find every descriptor.
        var wire = Lz4Frame(Sample, 256 * 1024, checksums: true).Concat(Lz4Frame(Sample, 4 * 1024 * 1024)).ToArray();
        Assert.Equal(ReadOutcome.BlockTooLarge, (await Read(new MemoryStream(wire), ContentCoding.Lz4)).Outcome);
    }

    [Fact]
    public async Task Frames_of_256_KiB_and_64_KiB_blocks_with_checksums_decode()
    {
        var big = Enumerable.Range(0, 700_000).Select(i => (byte)(i * 31 % 253)).ToArray();
        var wire = Lz4Frame(big, 256 * 1024).Concat(Lz4Frame(Sample, 64 * 1024, checksums: true)).ToArray();

        var read = await Read(new MemoryStream(wire), ContentCoding.Lz4);

        Assert.True(read.Outcome == ReadOutcome.Decoded, read.Error);
        Assert.Equal(big.Concat(Sample), read.Body!);
    }
}
