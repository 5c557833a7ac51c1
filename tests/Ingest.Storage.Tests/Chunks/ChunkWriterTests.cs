using System.IO.Hashing;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Envelope;
using Ingest.Storage.Payloads;
using Ingest.Storage.Tests.Payloads;
using Ingest.Testing;

namespace Ingest.Storage.Tests.Chunks;

/// <summary>
/// Chunk staging by the contract's rules, against a real Postgres: what each chunk comes to, and the exact reasons the
/// dead-letter and data-loss paths carry (the <c>ingest-dlq-error</c> header and the logs show them).
/// </summary>
public sealed class ChunkWriterTests(PostgresFixture postgres)
{
    private static readonly byte[] Payload = [.. Enumerable.Range(0, 10_000).Select(i => (byte)(i * 31 % 251))];

    [Fact]
    public async Task Chunks_in_order_store_the_payload_and_come_again_as_redeliveries()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var chunks = Split();

        var first = await db.StoreAsync([.. chunks.Select(c => db.Message(c.Envelope, c.Data))], ct);
        var again = await db.StoreAsync([db.Message(chunks[0].Envelope, chunks[0].Data), db.Message(chunks[1].Envelope, chunks[1].Data)], ct);

        Assert.Equal([StoreOutcome.ChunkStaged, StoreOutcome.ChunkStaged, StoreOutcome.Stored], first.Results.Select(r => r.Outcome));
        Assert.Equal([StoreOutcome.ChunkRedelivery, StoreOutcome.ChunkRedelivery], again.Results.Select(r => r.Outcome));
        Assert.Equal(3, await CountAsync(db, "SELECT chunk_count FROM ingest.payloads", ct));
        Assert.Equal(0, await CountAsync(db, "SELECT count(*) FROM ingest.pending_uploads", ct));
    }

    public static TheoryData<string, StoreOutcome, string> Breaks => new()
    {
        { "gap", StoreOutcome.DataLoss, "chunk 2 arrived after chunk 0: chunks 1…1 are missing" },
        { "first-missing", StoreOutcome.DataLoss, "chunk 1 arrived but no earlier chunk of its upload is staged" },
        { "length", StoreOutcome.Poison, "running length mismatch at chunk 1: staged 4096 + 4096 decoded bytes, header says 8193" },
        {
            "checksum", StoreOutcome.Poison,
            $"reassembled payload does not verify: 3 chunks, 10000 bytes, checksum {XxHash3.HashToUInt64(Payload):x16}; expected 3 chunks, 10000 bytes, 0123456789abcdef"
        },
    };

    [Theory]
    [MemberData(nameof(Breaks))]
    public async Task A_chunk_that_breaks_its_upload_is_refused_with_the_reason(string corruption, StoreOutcome outcome, string reason)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await StoreDatabase.CreateAsync(postgres, ct);
        var chunks = Split();
        (PayloadEnvelope Envelope, byte[] Data)[] sent = corruption switch
        {
            "gap" => [chunks[0], chunks[2]],
            "first-missing" => [chunks[1]],
            "length" => [chunks[0], (chunks[1].Envelope with { Length = chunks[1].Envelope.Length + 1 }, chunks[1].Data)],
            "checksum" => [chunks[0], chunks[1], (chunks[2].Envelope with { Checksum = 0x0123456789abcdef }, chunks[2].Data)],
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };

        var stored = await db.StoreAsync([.. sent.Select(c => db.Message(c.Envelope, c.Data))], ct);

        Assert.Equal((outcome, reason), (stored.Results[^1].Outcome, stored.Results[^1].Detail));
        Assert.Equal(0, await CountAsync(db, "SELECT count(*) FROM ingest.payloads", ct));
    }

    private static List<(PayloadEnvelope Envelope, byte[] Data)> Split() =>
        [.. ChunkSequenceWriter.Split(StoreDatabase.EnvelopeFor("s", 0, Payload), Payload, 4096).Select(c => (c.Envelope, c.Data.ToArray()))];

    private static async Task<long> CountAsync(StoreDatabase db, string sql, CancellationToken ct)
    {
        await using var command = db.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
