using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Contracts.Tests;

public sealed class PayloadEnvelopeTests
{
    private static readonly PayloadEnvelope Sample = new(
        "dev", "s-1", 42, "application/json", PayloadCodec.Name,
        DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), Guid.NewGuid(), 1234, 0xdeadbeef_cafef00d);

    [Fact]
    public void Written_headers_read_back_equal()
    {
        var headers = Sample.WriteTo(new Headers());

        Assert.Equal(Sample, PayloadEnvelope.ReadFrom(headers));
    }

    [Fact]
    public void Missing_header_is_named_in_the_error()
    {
        var headers = Sample.WriteTo(new Headers());
        headers.Remove(IngestHeaders.Seq);

        var ex = Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(headers));
        Assert.Contains(IngestHeaders.Seq, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_version_is_refused()
    {
        var headers = Sample.WriteTo(new Headers());
        headers.Remove(IngestHeaders.Version);
        headers.Add(IngestHeaders.Version, Encoding.UTF8.GetBytes("2"));

        var ex = Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(headers));
        Assert.Contains("version", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_headers_at_all_is_refused()
    {
        Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(null));
    }

    [Theory]
    [InlineData(IngestHeaders.Session, "bad id")]
    [InlineData(IngestHeaders.Seq, "-5")]
    [InlineData(IngestHeaders.PayloadId, "nope")]
    [InlineData(IngestHeaders.Checksum, "xyz")]
    [InlineData(IngestHeaders.Encoding, "gzip")]
    public void Malformed_header_is_refused(string name, string value)
    {
        var headers = Sample.WriteTo(new Headers());
        headers.Remove(name);
        headers.Add(name, Encoding.UTF8.GetBytes(value));

        var ex = Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(headers));
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Chunk_index_and_last_flag_round_trip()
    {
        var chunk = Sample with { ChunkIndex = 17, IsLastChunk = false };

        var read = PayloadEnvelope.ReadFrom(chunk.WriteTo(new Headers()));

        Assert.Equal(17, read.ChunkIndex);
        Assert.False(read.IsLastChunk);
    }

    [Fact]
    public void A_payload_sent_as_one_message_is_chunk_zero_and_last()
    {
        var read = PayloadEnvelope.ReadFrom(Sample.WriteTo(new Headers()));

        Assert.Equal(0, read.ChunkIndex);
        Assert.True(read.IsLastChunk);
    }

    [Theory]
    [InlineData(IngestHeaders.LastChunk, "yes")]
    [InlineData(IngestHeaders.Chunk, "-1")]
    [InlineData(IngestHeaders.Chunk, "99999999999")]
    public void Malformed_chunk_header_is_refused(string name, string value)
    {
        var headers = Sample.WriteTo(new Headers());
        headers.Remove(name);
        headers.Add(name, Encoding.UTF8.GetBytes(value));

        var ex = Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(headers));
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Abort_marker_round_trips_and_other_messages_carry_no_abort_header()
    {
        var marker = Sample with { ChunkIndex = 3, IsLastChunk = false, IsAbort = true };

        Assert.Equal(marker, PayloadEnvelope.ReadFrom(marker.WriteTo(new Headers())));
        Assert.False(Sample.WriteTo(new Headers()).TryGetLastBytes(IngestHeaders.Abort, out _));
        Assert.False(PayloadEnvelope.ReadFrom(Sample.WriteTo(new Headers())).IsAbort);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("")]
    public void Malformed_abort_header_is_refused(string value)
    {
        var headers = (Sample with { IsLastChunk = false }).WriteTo(new Headers());
        headers.Add(IngestHeaders.Abort, Encoding.UTF8.GetBytes(value));

        var ex = Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(headers));
        Assert.Contains(IngestHeaders.Abort, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_abort_marker_is_never_a_last_chunk()
    {
        var headers = Sample.WriteTo(new Headers()); // a last chunk
        headers.Add(IngestHeaders.Abort, "1"u8.ToArray());

        var ex = Assert.Throws<EnvelopeException>(() => PayloadEnvelope.ReadFrom(headers));
        Assert.Contains(IngestHeaders.Abort, ex.Message, StringComparison.Ordinal);
    }
}
