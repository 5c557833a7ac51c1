using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Contracts.Tests.Chunking;

/// <summary>
/// Pins the chunk headers on the wire, byte for byte, for a known payload: header names and order, decimal lengths and
/// indexes, the running XxHash3-64 as 16 lower-case hex digits, the 0/1 flags, the abort marker. A change here breaks
/// every consumer already deployed (and every message already in a topic).
/// </summary>
public sealed class ChunkWireFormatTests
{
    private static readonly PayloadEnvelope Upload = new(
        "dev", "s-1", 7, "application/json", PayloadCodec.Name, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123),
        Guid.ParseExact("0123456789abcdef0123456789abcdef", "N"), 0, 0);

    private static readonly byte[] Payload = "The quick brown fox jumps over the lazy dog"u8.ToArray();

    private static string[] Wire(PayloadEnvelope envelope) =>
        [.. envelope.WriteTo(new Headers()).Select(h => $"{h.Key}={Encoding.UTF8.GetString(h.GetValueBytes())}")];

    private static string[] Expected(int index, long length, string checksum, string last, params string[] extra) =>
    [
        "ingest-v=1", "ingest-project=dev", "ingest-session=s-1", "ingest-seq=7", "ingest-content-type=application/json",
        "ingest-encoding=ingest-lz4-v1", "ingest-received-at=1700000000123", "ingest-payload-id=0123456789abcdef0123456789abcdef",
        $"ingest-length={length}", $"ingest-checksum={checksum}", $"ingest-chunk={index}", $"ingest-chunk-last={last}", .. extra,
    ];

    [Fact]
    public void A_known_payload_cut_in_16_byte_chunks_has_these_headers()
    {
        var chunks = ChunkSequenceWriter.Split(Upload, Payload, 16).ToList();

        Assert.Equal(["The quick brown ", "fox jumps over t", "he lazy dog"], chunks.Select(c => Encoding.ASCII.GetString(c.Data.Span)));
        Assert.Equal(Expected(0, 16, "4246951ded1f9054", "0"), Wire(chunks[0].Envelope));
        Assert.Equal(Expected(1, 32, "7faa8dfb9e729c7b", "0"), Wire(chunks[1].Envelope));
        Assert.Equal(Expected(2, 43, "ce7d19a5418fb365", "1"), Wire(chunks[2].Envelope));
        Assert.Equal(Expected(2, 32, "7faa8dfb9e729c7b", "0", "ingest-abort=1"), Wire(ChunkSequenceWriter.AbortMarkerAfter(chunks[1].Envelope)));
    }

    [Fact]
    public void An_empty_payload_is_one_empty_last_chunk_with_the_xxh3_of_nothing()
    {
        // 2d06800538d394c2 is XXH3_64bits("") with seed 0, the reference implementation's published value.
        var chunk = Assert.Single(ChunkSequenceWriter.Split(Upload, ReadOnlyMemory<byte>.Empty, 16));

        Assert.Equal(Expected(0, 0, "2d06800538d394c2", "1"), Wire(chunk.Envelope));
    }

    [Fact]
    public void Headers_read_back_verify()
    {
        var verifier = new ChunkSequenceVerifier();
        foreach (var (envelope, data) in ChunkSequenceWriter.Split(Upload, Payload, 16))
        {
            verifier.Add(PayloadEnvelope.ReadFrom(envelope.WriteTo(new Headers())), PayloadCodec.Decode(PayloadCodec.Encode(data.Span)));
        }

        Assert.True(verifier.Finish().IsComplete);
    }
}
