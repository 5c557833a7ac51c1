using System.IO.Hashing;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Contracts.Tests.Chunking;

/// <summary>What the writer produces, the verifier accepts; every way a sequence can break, it names.</summary>
public sealed class ChunkSequenceTests
{
    private static readonly PayloadEnvelope Upload = new(
        "dev", "s-1", 7, "application/octet-stream", PayloadCodec.Name, DateTimeOffset.UnixEpoch, Guid.NewGuid(), 0, 0);

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private static List<(PayloadEnvelope Envelope, byte[] Data)> Split(byte[] payload, int chunkBytes) =>
        [.. ChunkSequenceWriter.Split(Upload, payload, chunkBytes).Select(c => (c.Envelope, c.Data.ToArray()))];

    private static ChunkVerdict Verify(IEnumerable<(PayloadEnvelope Envelope, byte[] Data)> chunks, ChunkTotals? expected = null)
    {
        var verifier = new ChunkSequenceVerifier(expected);
        foreach (var (envelope, data) in chunks)
        {
            verifier.Add(envelope, data);
        }

        return verifier.Finish();
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 16)]
    [InlineData(100_000, 4096)]
    public void Split_chunks_carry_running_totals_and_verify_complete(int size, int chunkBytes)
    {
        var payload = Bytes(size);

        var chunks = Split(payload, chunkBytes);

        Assert.Equal(Math.Max(1, (size + chunkBytes - 1) / chunkBytes), chunks.Count);
        Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Envelope.ChunkIndex));
        Assert.Equal([.. Enumerable.Repeat(false, chunks.Count - 1), true], chunks.Select(c => c.Envelope.IsLastChunk));
        Assert.Equal(payload, chunks.SelectMany(c => c.Data));
        var prefix = 0;
        foreach (var (envelope, data) in chunks)
        {
            prefix += data.Length;
            Assert.Equal(prefix, envelope.Length);
            Assert.Equal(XxHash3.HashToUInt64(payload.AsSpan(0, prefix)), envelope.Checksum);
            Assert.Equal(Upload with { ChunkIndex = envelope.ChunkIndex, Length = prefix, Checksum = envelope.Checksum, IsLastChunk = envelope.IsLastChunk }, envelope);
        }

        Assert.Equal(new ChunkVerdict(ChunkSequenceState.Complete, null), Verify(chunks));
        Assert.True(Verify(chunks, ChunkTotals.Of(chunks[^1].Envelope)).IsComplete);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4096)]
    [InlineData(10_000)]
    public async Task SplitAsync_over_a_stream_cuts_as_Split_does(int size)
    {
        var payload = Bytes(size);
        var expected = Split(payload, 4096);
        var actual = new List<(PayloadEnvelope, byte[])>();

        await foreach (var (envelope, data) in ChunkSequenceWriter.SplitAsync(Upload, new MemoryStream(payload), 4096, TestContext.Current.CancellationToken))
        {
            actual.Add((envelope, data.ToArray()));
        }

        Assert.Equal(expected.Select(c => (c.Envelope, Convert.ToHexString(c.Data))), actual.Select(c => (c.Item1, Convert.ToHexString(c.Item2))));
    }

    [Fact]
    public void Writer_chunks_of_any_length_with_an_empty_last_verify_and_their_totals_are_the_last_header()
    {
        var payload = Bytes(1000);
        var writer = new ChunkSequenceWriter(Upload);
        var chunks = new List<(PayloadEnvelope, byte[])>();
        foreach (var (offset, length) in new[] { (0, 300), (300, 100), (400, 600), (1000, 0) })
        {
            var data = payload.AsSpan(offset, length).ToArray();
            chunks.Add((writer.Next(data, isLast: length == 0), data));
        }

        Assert.Equal(new ChunkTotals(4, 1000, XxHash3.HashToUInt64(payload)), writer.Totals);
        Assert.Equal(writer.Totals, ChunkTotals.Of(writer.Last!));
        Assert.True(Verify(chunks).IsComplete);
        Assert.Throws<InvalidOperationException>(() => writer.Next([1], isLast: false));
    }

    [Fact]
    public void Stored_chunks_verify_against_a_rows_totals_without_a_checksum()
    {
        var chunks = Split(Bytes(10_000), 4096);
        var verifier = new ChunkSequenceVerifier(new ChunkTotals(3, 10_000, null));

        foreach (var (envelope, data) in chunks)
        {
            Assert.Equal(ChunkSequenceState.Incomplete, verifier.Add(envelope.ChunkIndex, data).State);
        }

        Assert.True(verifier.Finish().IsComplete);
        Assert.Equal(chunks[^1].Envelope.Checksum, verifier.Checksum);
    }

    [Fact]
    public void Chunks_without_their_last_are_incomplete_and_an_abort_marker_ends_them_aborted()
    {
        var chunks = Split(Bytes(10_000), 4096);

        var incomplete = Verify(chunks.Take(2));
        var aborted = Verify([.. chunks.Take(2), (ChunkSequenceWriter.AbortMarkerAfter(chunks[1].Envelope), [])]);

        Assert.Equal(new ChunkVerdict(ChunkSequenceState.Incomplete, "no last chunk after chunk 1"), incomplete);
        Assert.Equal(new ChunkVerdict(ChunkSequenceState.Aborted, "the upload was aborted after chunk 1"), aborted);
        Assert.Throws<ArgumentException>(() => ChunkSequenceWriter.AbortMarkerAfter(chunks[^1].Envelope));
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "gap", "chunk 2 arrived after chunk 0: chunks 1…1 are missing" },
        { "repeat", "chunk 1 arrived after chunk 1" },
        { "first-missing", "chunk 1 arrived but no earlier chunk of its upload is staged" },
        { "length", "running length mismatch at chunk 1: staged 4096 + 4096 decoded bytes, header says 8193" },
        { "flipped-byte", "running checksum mismatch at chunk 1" },
        { "last-checksum", "running checksum mismatch at chunk 2" },
        { "other-payload", "belongs to payload" },
        { "after-last", "chunk 3 arrived after the upload ended (complete)" },
        { "after-abort", "chunk 3 arrived after the upload ended (aborted)" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_broken_sequence_is_corrupt_with_a_reason(string corruption, string reason)
    {
        var chunks = Split(Bytes(10_000), 4096);
        var (e1, d1) = chunks[1];
        List<(PayloadEnvelope, byte[])> broken = corruption switch
        {
            "gap" => [chunks[0], chunks[2]],
            "repeat" => [chunks[0], chunks[1], chunks[1], chunks[2]],
            "first-missing" => [chunks[1], chunks[2]],
            "length" => [chunks[0], (e1 with { Length = e1.Length + 1 }, d1), chunks[2]],
            "flipped-byte" => [chunks[0], (e1, [(byte)(d1[0] ^ 1), .. d1[1..]]), chunks[2]],
            "last-checksum" => [chunks[0], chunks[1], (chunks[2].Envelope with { Checksum = chunks[2].Envelope.Checksum ^ 1 }, chunks[2].Data)],
            "other-payload" => [chunks[0], (e1 with { PayloadId = Guid.NewGuid() }, d1), chunks[2]],
            "after-last" => [.. chunks, (chunks[2].Envelope with { ChunkIndex = 3 }, [])],
            "after-abort" => [.. chunks.Take(3).Select((c, i) => i < 2 ? c : (ChunkSequenceWriter.AbortMarkerAfter(e1), [])), (e1 with { ChunkIndex = 3 }, [])],
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };

        var verdict = Verify(broken);

        Assert.Equal(ChunkSequenceState.Corrupt, verdict.State);
        Assert.Contains(reason, verdict.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4, 10_000, "reassembled payload does not verify: 3 chunks, 10000 bytes; expected 4 chunks, 10000 bytes")]
    [InlineData(3, 10_001, "reassembled payload does not verify: 3 chunks, 10000 bytes; expected 3 chunks, 10001 bytes")]
    [InlineData(2, 9_000, "chunk 2 goes past the payload's 2 chunks, 9000 bytes")]
    [InlineData(3, 9_000, "chunk 2 goes past the payload's 3 chunks, 9000 bytes")]
    public void Stored_chunks_short_of_or_past_the_rows_totals_are_corrupt(int count, long length, string reason)
    {
        var verifier = new ChunkSequenceVerifier(new ChunkTotals(count, length, null));

        foreach (var (envelope, data) in Split(Bytes(10_000), 4096))
        {
            verifier.Add(envelope.ChunkIndex, data);
        }

        Assert.Equal(new ChunkVerdict(ChunkSequenceState.Corrupt, reason), verifier.Finish());
    }

    [Fact]
    public void A_staged_sequence_whose_bytes_miss_the_last_chunks_checksum_names_both_totals()
    {
        var payload = Bytes(10_000);
        var chunks = Split(payload, 4096);
        var claimed = ChunkTotals.Of(chunks[^1].Envelope with { Checksum = 0x0123456789abcdef });
        var verifier = new ChunkSequenceVerifier(claimed);

        foreach (var (envelope, data) in chunks)
        {
            verifier.Add(envelope.ChunkIndex, data);
        }

        Assert.Equal(
            $"reassembled payload does not verify: 3 chunks, 10000 bytes, checksum {XxHash3.HashToUInt64(payload):x16}; expected 3 chunks, 10000 bytes, 0123456789abcdef",
            verifier.Finish().Reason);
    }

    [Fact]
    public void Position_check_classifies_a_chunk_against_the_staged_state()
    {
        var staged = new ChunkPosition(2, 500);

        Assert.Equal(ChunkStep.Continues, staged.Check(2, 100, 600).Step);
        Assert.Equal(ChunkStep.Behind, staged.Check(1, 100, 600).Step);
        Assert.Equal(ChunkStep.Gap, staged.Check(3, 100, 700).Step);
        Assert.Equal(ChunkStep.LengthMismatch, staged.Check(2, 100, 601).Step);
        Assert.Equal(new ChunkPosition(3, 600), staged.After(100));
    }
}
