using System.Text;
using Ingest.Contracts.DeadLetter;
using Ingest.Testing;

namespace Ingest.Worker.Tests.Storage;

/// <summary>Chunked payloads are staged, verified and stored once; broken or abandoned uploads never silently.</summary>
public sealed class ChunkingTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Interleaved_chunked_payloads_with_redelivered_chunks_are_stored_once_intact_and_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct);
        var random = new Random(5);
        var uploads = Enumerable.Range(0, 3).Select(s =>
        {
            var bytes = new byte[(300 * 1024) + (s * 777)];
            random.NextBytes(bytes);
            return (Bytes: bytes, Chunks: Chunks.Split(WorkerScenario.EnvelopeFor($"big-{s}", 0, bytes), bytes, 64 * 1024));
        }).ToList();

        // Round-robin across sessions, a whole payload between rounds, and every third chunk sent twice.
        for (var i = 0; i < uploads.Max(u => u.Chunks.Count); i++)
        {
            foreach (var (_, chunks) in uploads.Where(u => i < u.Chunks.Count))
            {
                await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunks[i], ct);
                if (i % 3 == 1)
                {
                    await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunks[i], ct);
                }
            }

            var small = Encoding.UTF8.GetBytes($"small {i}");
            await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("small", i, small), small, ct);
        }

        var smallCount = uploads.Max(u => u.Chunks.Count);
        await scenario.Database.WaitForCountAsync(smallCount + 3, ct);

        var rows = await scenario.Database.AllAsync(ct);
        Assert.Equal(smallCount + 3, rows.Count);
        Assert.Equal(Enumerable.Range(0, smallCount).Select(i => (long)i), rows.Where(r => r.SessionId == "small").Select(r => r.Seq));
        foreach (var (bytes, chunks) in uploads)
        {
            var row = Assert.Single(rows, r => r.SessionId == chunks[0].Envelope.SessionId);
            Assert.Equal(bytes.Length, row.Length);
            Assert.Empty(row.Body);
            Assert.Equal(bytes, await Chunks.ReassembleAsync(scenario.ConnectionString, row.PayloadId, ct));
        }

        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
        Assert.Equal(
            uploads.Sum(u => u.Chunks.Count),
            await Sql.ScalarAsync(scenario.ConnectionString, "SELECT sum(chunk_count) FROM ingest.payloads WHERE chunk_count > 1", ct));
    }

    [Fact]
    public async Task A_chunked_payload_failing_its_checksum_is_dead_lettered_as_a_reference_and_the_partition_moves_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct);
        var bytes = new byte[200_000];
        new Random(7).NextBytes(bytes);
        var chunks = Chunks.Split(WorkerScenario.EnvelopeFor("bad", 0, bytes), bytes, 64 * 1024);
        var last = chunks[^1];
        chunks[^1] = (last.Envelope with { Checksum = last.Envelope.Checksum ^ 1 }, last.Value);
        var offsets = new List<long>();
        var t0 = DateTime.UtcNow;
        foreach (var chunk in chunks)
        {
            offsets.Add((await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct, t0)).Offset.Value);
        }

        var after = "after"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("after", 0, after), Ingest.Contracts.Codec.PayloadCodec.Encode(after)), ct, t0);
        await scenario.Database.WaitForCountAsync(1, ct);

        var letter = Assert.Single(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(string.Join(",", offsets), Header(letter, DeadLetterHeaders.ChunkOffsets));
        Assert.Equal(offsets[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), Header(letter, DeadLetterHeaders.Offset));
        Assert.Contains("checksum", Header(letter, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal("after", Assert.Single(await scenario.Database.AllAsync(ct)).SessionId);

        // The reference stays good past the abandonment sweep's log-time horizon: the staged chunks are kept.
        var late = "16 min later"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("after", 1, late), Ingest.Contracts.Codec.PayloadCodec.Encode(late)), ct, t0.AddMinutes(16));
        await scenario.Database.WaitForCountAsync(2, ct);
        Assert.Equal(chunks.Count, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.payload_chunks", ct));
        Assert.Equal(1, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads WHERE dead_lettered", ct));
    }

    [Fact]
    public async Task A_chunk_marked_dead_lettered_whose_letter_was_never_sent_is_dead_lettered_again_when_redelivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct);
        var bytes = new byte[200_000];
        new Random(9).NextBytes(bytes);
        var chunks = Chunks.Split(WorkerScenario.EnvelopeFor("crashed", 0, bytes), bytes, 64 * 1024);
        var before = "before"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("before", 0, before), before, ct);
        await scenario.Database.WaitForCountAsync(1, ct); // the schema is in place
        var offsets = new List<long>();
        foreach (var chunk in chunks[..^1])
        {
            offsets.Add((await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct)).Offset.Value);
        }

        var payloadId = chunks[0].Envelope.PayloadId;
        await Eventually.UntilAsync(
            () => Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{payloadId}'", ct),
            count => count == chunks.Count - 1, TimeSpan.FromSeconds(30), count => $"{count} chunks staged", ct);

        // What a worker leaves when it dies after marking the last chunk dead-lettered and before its letter reached
        // the DLQ: the mark is committed, the offset is not, so the last chunk comes again.
        var lastOffset = scenario.LogEndOffsets()[0];
        Assert.Equal(1, await Sql.ScalarAsync(scenario.ConnectionString,
            $"""
            WITH marked AS (UPDATE ingest.pending_uploads SET dead_lettered = true, dead_letter_offset = {lastOffset},
                                   dead_letter_error = 'refused before the crash'
                            WHERE payload_id = '{payloadId}' RETURNING 1)
            SELECT count(*) FROM marked
            """, ct));
        Assert.Equal(lastOffset, (await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunks[^1], ct)).Offset.Value);

        var letter = Assert.Single(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(30)));
        Assert.Equal("refused before the crash", Header(letter, DeadLetterHeaders.Error));
        Assert.Equal(lastOffset.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(letter, DeadLetterHeaders.Offset));
        Assert.Equal(string.Join(",", offsets), Header(letter, DeadLetterHeaders.ChunkOffsets));
        Assert.Equal(["before"], (await scenario.Database.AllAsync(ct)).Select(r => r.SessionId));
    }

    [Fact]
    public async Task An_upload_without_its_last_chunk_is_discarded_by_log_time_and_a_gap_is_counted_as_data_loss()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var worker = await scenario.StartWorkerAsync(ct);
        var bytes = new byte[150_000];
        var abandoned = Chunks.Split(WorkerScenario.EnvelopeFor("abandoned", 0, bytes), bytes, 64 * 1024);
        var gapped = Chunks.Split(WorkerScenario.EnvelopeFor("gapped", 0, bytes), bytes, 64 * 1024);
        var t0 = DateTime.UtcNow;
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, abandoned[0], ct, t0);
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, abandoned[1], ct, t0);
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, gapped[0], ct, t0);
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, gapped[2], ct, t0); // chunk 1 never came
        var marker = "14 min later"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("marker", 0, marker), Ingest.Contracts.Codec.PayloadCodec.Encode(marker)), ct, t0.AddMinutes(14));
        await scenario.Database.WaitForCountAsync(1, ct);

        // 14 min of log time is not enough: the abandoned upload is still staged.
        Assert.Equal(2, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.payload_chunks", ct));

        var late = "16 min later"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("marker", 1, late), Ingest.Contracts.Codec.PayloadCodec.Encode(late)), ct, t0.AddMinutes(16));
        await scenario.Database.WaitForCountAsync(2, ct);
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.payload_chunks", ct));
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
        Assert.Equal(["marker"], (await scenario.Database.AllAsync(ct)).Select(r => r.SessionId).Distinct());

        using var http = new HttpClient { BaseAddress = worker.Address };
        var metrics = await Eventually.UntilAsync(
            () => http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct),
            text => Line(text, "ingest_worker_data_loss") is not null && Line(text, "ingest_worker_uploads_abandoned") is not null,
            TimeSpan.FromSeconds(20), text => $"no data-loss/abandoned series:\n{text}", ct);
        Assert.EndsWith(" 1", Line(metrics, "ingest_worker_data_loss"), StringComparison.Ordinal);
        Assert.EndsWith(" 1", Line(metrics, "ingest_worker_uploads_abandoned"), StringComparison.Ordinal);

        string? Line(string text, string name) => text.Split('\n')
            .FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(scenario.Topic, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_chunked_payload_whose_last_chunk_is_empty_is_stored_intact()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct);
        var bytes = new byte[100_000];
        new Random(3).NextBytes(bytes);
        var (whole, value) = Chunks.Split(WorkerScenario.EnvelopeFor("empty-last", 0, bytes), bytes, bytes.Length)[0];
        // The API flushed everything in chunk 0 and then found the body ended: an empty last chunk.
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (whole with { IsLastChunk = false }, value), ct);
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (whole with { ChunkIndex = 1 }, Ingest.Contracts.Codec.PayloadCodec.Encode([])), ct);
        await scenario.Database.WaitForCountAsync(1, ct);

        var row = Assert.Single(await scenario.Database.AllAsync(ct));
        Assert.Equal(bytes.Length, row.Length);
        Assert.Equal(bytes, await Chunks.ReassembleAsync(scenario.ConnectionString, row.PayloadId, ct));
    }

    private static string Header(Confluent.Kafka.ConsumeResult<byte[], byte[]> letter, string name) =>
        letter.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
}
