using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.DeadLetter;
using Ingest.Testing;
using Ingest.Worker.Startup;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Worker.Tests.Redrive;

/// <summary>Redrive of chunked payloads: re-sent from their staged chunks as a fresh upload, stored intact at a later position.</summary>
public sealed class RedriveTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task A_dead_lettered_chunked_payload_once_fixed_is_redriven_from_its_staged_chunks_and_stored_intact()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct, "--Worker:PoisonAttempts=2");
        var first = "first"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("small", 0, first), first, ct);
        await scenario.Database.WaitForCountAsync(1, ct);
        // The "bug": the database refuses the big payload's row (SQLSTATE 23514) when its last chunk completes it.
        await Sql.ExecuteAsync(scenario.ConnectionString, "ALTER TABLE ingest.payloads ADD CONSTRAINT no_big CHECK (session_id <> 'big')", ct);
        var bytes = new byte[600_000];
        new Random(11).NextBytes(bytes);
        var chunks = Chunks.Split(WorkerScenario.EnvelopeFor("big", 0, bytes), bytes, 128 * 1024);
        foreach (var chunk in chunks)
        {
            await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct);
        }

        var after = "after"u8.ToArray();
        await scenario.ProduceAsync(WorkerScenario.EnvelopeFor("small", 1, after), after, ct);
        await scenario.Database.WaitForCountAsync(2, ct);
        var letter = Assert.Single(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(30)));
        Assert.Contains("no_big", WorkerScenario.Header(letter, DeadLetterHeaders.Error), StringComparison.Ordinal);
        var oldId = chunks[0].Envelope.PayloadId;
        var position = $"{letter.Partition.Value}:{letter.Offset.Value}";

        var dry = await RedriveJsonAsync(scenario, ct, "--offset", position, "--dry-run");
        var planned = Assert.Single(dry.GetProperty("letters").EnumerateArray());
        Assert.Equal("chunked", planned.GetProperty("kind").GetString());
        Assert.Equal(chunks.Count, planned.GetProperty("messages").GetInt32());
        Assert.Equal(chunks.Count - 1, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{oldId}'", ct));

        await FixAndRedriveAsync(scenario, position, oldId, bytes, rowsAfter: 3, ct);
    }

    [Fact]
    public async Task A_chunked_payload_refused_at_its_last_chunk_keeps_its_staged_chunks_past_the_abandonment_sweep_and_is_redriven()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        await scenario.StartWorkerAsync(ct, "--Worker:PoisonAttempts=2");
        var t0 = DateTime.UtcNow;
        var first = "first"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("small", 0, first), PayloadCodec.Encode(first)), ct, t0);
        await scenario.Database.WaitForCountAsync(1, ct);
        // The database refuses the reassembled payload's row (SQLSTATE 23514) when its last chunk completes it.
        await Sql.ExecuteAsync(scenario.ConnectionString, "ALTER TABLE ingest.payloads ADD CONSTRAINT no_big CHECK (session_id <> 'big')", ct);
        var bytes = new byte[400_000];
        new Random(13).NextBytes(bytes);
        var chunks = Chunks.Split(WorkerScenario.EnvelopeFor("big", 0, bytes), bytes, 128 * 1024);
        var offsets = new List<long>();
        foreach (var chunk in chunks)
        {
            offsets.Add((await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, chunk, ct, t0)).Offset.Value);
        }

        // A genuinely abandoned upload beside it: its last chunk never comes.
        var abandoned = Chunks.Split(WorkerScenario.EnvelopeFor("abandoned", 0, []), new byte[150_000], 64 * 1024);
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, abandoned[0], ct, t0);
        var after = "after"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("small", 1, after), PayloadCodec.Encode(after)), ct, t0);
        await scenario.Database.WaitForCountAsync(2, ct);
        var letter = Assert.Single(scenario.ReadDeadLetters(1, TimeSpan.FromSeconds(30)));
        Assert.Contains("no_big", WorkerScenario.Header(letter, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal(offsets[^1].ToString(System.Globalization.CultureInfo.InvariantCulture), WorkerScenario.Header(letter, DeadLetterHeaders.Offset));
        Assert.Equal("2", WorkerScenario.Header(letter, DeadLetterHeaders.Attempts));
        // The reference: the chunks staged before the refused last one, which the letter carries itself.
        Assert.Equal(string.Join(",", offsets[..^1]), WorkerScenario.Header(letter, DeadLetterHeaders.ChunkOffsets));
        var oldId = chunks[0].Envelope.PayloadId;

        // Past the sweep's log-time horizon (Worker:AbandonedUploadAfter, 15 min) on the same partition.
        var late = "16 min later"u8.ToArray();
        await Chunks.ProduceAsync(scenario.Producer, scenario.Topic, (WorkerScenario.EnvelopeFor("small", 2, late), PayloadCodec.Encode(late)), ct, t0.AddMinutes(16));
        await scenario.Database.WaitForCountAsync(3, ct);
        await Eventually.UntilAsync(
            () => Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{abandoned[0].Envelope.PayloadId}'", ct),
            count => count == 0, TimeSpan.FromSeconds(30), count => $"the abandoned upload still has {count} staged chunks", ct);
        Assert.Equal(chunks.Count - 1, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{oldId}'", ct));
        Assert.Equal(1, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.pending_uploads WHERE payload_id = '{oldId}' AND dead_lettered", ct));

        await FixAndRedriveAsync(scenario, $"{letter.Partition.Value}:{letter.Offset.Value}", oldId, bytes, rowsAfter: 4, ct);
    }

    /// <summary>
    /// Drops the constraint that refused "big", redrives its letter at <paramref name="position"/>, and checks it is
    /// stored intact under a new payload id after every "small" row, with its old staging gone.
    /// </summary>
    private async Task FixAndRedriveAsync(
        WorkerScenario scenario, string position, Guid oldId, byte[] bytes, int rowsAfter, CancellationToken ct)
    {
        await Sql.ExecuteAsync(scenario.ConnectionString, "ALTER TABLE ingest.payloads DROP CONSTRAINT no_big", ct);
        var redriven = Assert.Single((await RedriveJsonAsync(scenario, ct, "--offset", position)).GetProperty("letters").EnumerateArray());
        var newId = redriven.GetProperty("payloadId").GetGuid();
        Assert.NotEqual(oldId, newId);
        await scenario.Database.WaitForCountAsync(rowsAfter, ct);

        var rows = await scenario.Database.AllAsync(ct);
        var big = Assert.Single(rows, r => r.SessionId == "big");
        Assert.Equal((0L, newId, (long)bytes.Length), (big.Seq, big.PayloadId, big.Length));
        // Positions count within a session; the redriven payload's row was written after every "small" one.
        Assert.True(big.StoredAt > rows.Where(r => r.SessionId == "small").Max(r => r.StoredAt), "the redriven payload is stored after what came before it");
        Assert.Equal(bytes, await Chunks.ReassembleAsync(scenario.ConnectionString, newId, ct));
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, $"SELECT count(*) FROM ingest.payload_chunks WHERE payload_id = '{oldId}'", ct));
        Assert.Equal(0, await Sql.ScalarAsync(scenario.ConnectionString, "SELECT count(*) FROM ingest.pending_uploads", ct));
    }

    [Fact]
    public async Task A_chunked_letter_that_cannot_be_reassembled_fails_with_one_line_naming_why()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var scenario = await WorkerScenario.CreateAsync(kafka, postgres, partitions: 1, ct);
        var worker = await scenario.StartWorkerAsync(ct);
        // The worker creates the store's tables in the background once started, and nothing below waits for a stored row:
        // without this the redrives could read the staged chunks before the tables exist (a CI run failed so, under load).
        Assert.True(await worker.App.Services.GetRequiredService<WorkerStartup>().Ready.WaitAsync(ct));
        var chunks = Chunks.Split(WorkerScenario.EnvelopeFor("lost", 0, []), new byte[300_000], 128 * 1024);
        var notLast = await ProduceLetterAsync(scenario, chunks[1], ct);
        var last = await ProduceLetterAsync(scenario, chunks[^1], ct);
        var whole = "whole"u8.ToArray();
        await ProduceLetterAsync(scenario, (WorkerScenario.EnvelopeFor("ok", 0, whole), PayloadCodec.Encode(whole)), ct);

        var (code, _, error) = await RedriveAsync(scenario, ct, "--offset", $"0:{notLast}");
        Assert.Equal(1, code);
        Assert.Contains("not its last", error, StringComparison.Ordinal);
        (code, _, error) = await RedriveAsync(scenario, ct, "--offset", $"0:{last}");
        Assert.Equal(1, code);
        Assert.Contains("needs chunks 0…1 staged", error, StringComparison.Ordinal); // the worker never saw them
        (code, _, error) = await RedriveAsync(scenario, ct, ["--offset", $"0:{last}"], db: null);
        Assert.Equal(1, code);
        Assert.Contains("pass --db", error, StringComparison.Ordinal);
        (code, _, error) = await RedriveAsync(scenario, ct, "--offset", "0:999");
        Assert.Equal(1, code);
        Assert.Contains("no dead letter at 0:999", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));

        // All letters, in order: the run stops at the first it cannot redrive, after what came before it.
        (code, var output, error) = await RedriveAsync(scenario, ct, "--dry-run");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith("ingest-ops: ", error, StringComparison.Ordinal);
    }

    private static async Task<long> ProduceLetterAsync(WorkerScenario scenario, (Ingest.Contracts.Envelope.PayloadEnvelope Envelope, byte[] Value) chunk, CancellationToken ct)
    {
        var headers = chunk.Envelope.WriteTo(new Headers());
        headers.Add(DeadLetterHeaders.Topic, Encoding.UTF8.GetBytes(scenario.Topic));
        headers.Add(DeadLetterHeaders.Error, "test letter"u8.ToArray());
        var delivery = await scenario.Producer.ProduceAsync(
            scenario.DeadLetterTopic, new Message<byte[], byte[]> { Key = chunk.Envelope.Key, Value = chunk.Value, Headers = headers }, ct);
        return delivery.Offset.Value;
    }

    private Task<(int Code, string Output, string Error)> RedriveAsync(WorkerScenario scenario, CancellationToken ct, params string[] args) =>
        RedriveAsync(scenario, ct, args, scenario.ConnectionString);

    private async Task<(int Code, string Output, string Error)> RedriveAsync(WorkerScenario scenario, CancellationToken ct, string[] args, string? db)
    {
        _ = ct; // ingest-ops runs to its end, as on the command line
        var (code, output, error) = await OpsRedrive.RunAsync(scenario.Topic, kafka.BootstrapServers, db, ["--group", $"redrive-{Guid.NewGuid():N}", .. args]);
        Assert.False(code == 2, error); // the arguments parsed
        return (code, output, error);
    }

    private async Task<JsonElement> RedriveJsonAsync(WorkerScenario scenario, CancellationToken ct, params string[] args)
    {
        var (code, output, error) = await RedriveAsync(scenario, ct, [.. args, "--json"]);
        Assert.True(code == 0, error);
        using var document = JsonDocument.Parse(output);
        return document.RootElement.Clone();
    }
}
