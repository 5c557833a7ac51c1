using System.Globalization;
using Ingest.Testing;
using Npgsql;
using static Ingest.EndToEnd.Tests.OpsTests;

namespace Ingest.EndToEnd.Tests;

/// <summary><c>ingest-ops replay</c>: what a database restore lost comes back; what is stored stays untouched.</summary>
public sealed class ReplayTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Replay_writes_back_deleted_payloads_of_its_range_and_leaves_stored_ones_untouched()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        // Batch A, "received an hour ago"; then the range starts; then batch B with one chunked upload (3 chunks of 256 KiB).
        for (var seq = 0; seq < 6; seq++)
        {
            await Payloads.PostAcceptedAsync(client, $"r-{seq % 3}", seq / 3, Payloads.Make("a", seq, 400), ct);
        }

        await pipeline.WaitForStoredAsync(6, TimeSpan.FromSeconds(60), ct);
        await ExecuteAsync(pipeline, "UPDATE ingest.payloads SET received_at = received_at - interval '1 hour'", ct);
        var from = DateTimeOffset.UtcNow;
        await WaitForBrokerClockAsync(from, ct);
        for (var seq = 0; seq < 9; seq++)
        {
            await Payloads.PostAcceptedAsync(client, $"r-{seq % 3}", 2 + (seq / 3), Payloads.Make("b", seq, 400), ct);
        }

        await Payloads.PostAcceptedAsync(client, "r-big", 0, Payloads.Make("big", 0, 600_000), ct);
        await pipeline.WaitForStoredAsync(16, TimeSpan.FromSeconds(60), ct);
        await WaitForNoLagAsync(pipeline, ct);
        var before = await RowsAsync(pipeline, ct);

        // The "restore" lost one payload of A, two of B and the chunked one (row and chunks).
        await ExecuteAsync(pipeline,
            """
            DELETE FROM ingest.payload_chunks WHERE payload_id IN (SELECT payload_id FROM ingest.payloads WHERE session_id = 'r-big');
            DELETE FROM ingest.payloads WHERE (session_id, seq) IN (('r-0', 0), ('r-1', 2), ('r-2', 4), ('r-big', 0));
            """, ct);

        var replay = await OpsJsonAsync(pipeline, ct, "replay", "--from", from.ToString("O", CultureInfo.InvariantCulture), "--group", pipeline.GroupId);

        var applied = replay.GetProperty("applied");
        Assert.Equal(3, applied.GetProperty("written").GetInt64()); // two of B and the chunked one; A's is outside the range
        Assert.Equal(2, applied.GetProperty("chunksStaged").GetInt64());
        Assert.Equal(7, applied.GetProperty("alreadyStored").GetInt64()); // the rest of B: no-ops
        Assert.Equal(0, applied.GetProperty("incomplete").GetInt64());
        var methods = replay.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("startMethod").GetString()!).ToList();
        if (kafka.IsMock)
        {
            // The mock cannot look offsets up by time: the store's received-at times bound the start (where A left rows).
            Assert.Contains(methods, m => m == "store");
            Assert.All(methods, m => Assert.True(m == "store" || m.StartsWith("log start", StringComparison.Ordinal), m));
        }
        else
        {
            Assert.All(methods, m => Assert.Equal("offsets-for-times", m));
        }

        var after = await RowsAsync(pipeline, ct);
        Assert.DoesNotContain(("r-0", 0L), after.Keys);
        Assert.Equal(before.Count - 1, after.Count);
        foreach (var (key, row) in after)
        {
            var (payloadId, position) = before[key];
            Assert.Equal(payloadId, row.PayloadId); // the same upload, not a copy
            if (key is not ("r-1", 2) and not ("r-2", 4) and not ("r-big", 0))
            {
                Assert.Equal(position, row.Position); // untouched
            }
        }

        using var big = await client.GetAsync(new Uri("/v1/sessions/r-big/payloads/0", UriKind.Relative), ct);
        Assert.Equal(Payloads.Make("big", 0, 600_000), await big.Content.ReadAsByteArrayAsync(ct));
    }

    [Fact]
    public async Task Replay_of_one_session_reads_only_its_partition_and_restores_only_its_payloads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 4, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        for (var seq = 0; seq < 4; seq++)
        {
            await Payloads.PostAcceptedAsync(client, "mine", seq, Payloads.Make("mine", seq, 300), ct);
            await Payloads.PostAcceptedAsync(client, "theirs", seq, Payloads.Make("theirs", seq, 300), ct);
        }

        await pipeline.WaitForStoredAsync(8, TimeSpan.FromSeconds(60), ct);
        await WaitForNoLagAsync(pipeline, ct);
        await ExecuteAsync(pipeline, "DELETE FROM ingest.payloads WHERE seq = 1", ct);

        var replay = await OpsJsonAsync(pipeline, ct, "replay", "--from", from.ToString("O", CultureInfo.InvariantCulture),
            "--session", "mine", "--project", Pipeline.Project, "--group", pipeline.GroupId);

        var partition = Assert.Single(replay.GetProperty("partitions").EnumerateArray());
        var expected = Ingest.Contracts.Identity.SessionKey.PartitionFor(Ingest.Contracts.Identity.SessionKey.For(Pipeline.Project, "mine"), 4);
        Assert.Equal(expected, partition.GetProperty("partition").GetInt32());
        Assert.Equal(1, replay.GetProperty("applied").GetProperty("written").GetInt64());
        Assert.Equal(3, replay.GetProperty("applied").GetProperty("alreadyStored").GetInt64());
        var rows = await RowsAsync(pipeline, ct);
        Assert.Contains(("mine", 1L), rows.Keys);
        Assert.DoesNotContain(("theirs", 1L), rows.Keys);
    }

    [Fact]
    public async Task Replay_fails_with_one_line_for_an_unknown_topic_an_unreachable_broker_or_database()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartWorkerAsync(ct); // applies the schema

        var (code, _, error) = await OpsAsync(pipeline, ct, "replay", "--from", "-1h", "--topic", $"missing-{Guid.NewGuid():N}");
        Assert.Equal((1, "ingest-ops: topic"), (code, error[..Math.Min(error.Length, 17)]));
        Assert.Contains("not found", error, StringComparison.Ordinal);

        foreach (var (args, expected) in new[]
        {
            (new[] { "--bootstrap", "127.0.0.1:1", "--db", pipeline.ConnectionString }, "cannot reach the broker"),
            (["--bootstrap", pipeline.BootstrapServers, "--db", "Host=127.0.0.1;Port=1;Username=x;Timeout=3"], "cannot reach the store"),
        })
        {
            using var output = new StringWriter();
            using var errors = new StringWriter();
            code = await Ops.Program.MainAsync(["replay", "--from", "-1h", "--topic", pipeline.Topic, .. args], output, errors);
            Assert.Equal(1, code);
            Assert.Contains(expected, errors.ToString(), StringComparison.Ordinal);
            Assert.Single(errors.ToString().Trim().Split('\n'));
        }
    }

    [Theory]
    [InlineData("replay")]
    [InlineData("replay", "--from", "yesterday")]
    [InlineData("replay", "--from", "-1h", "--to", "-2h")]
    [InlineData("dlq", "redrive", "--offset", "3")]
    public async Task Bad_replay_and_redrive_arguments_exit_2_with_one_line(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(2, await Ops.Program.MainAsync(args, output, error));
        Assert.Single(error.ToString().Trim().Split('\n'));
    }

    /// <summary>The broker stamps messages with its producer's clock; make sure the range start lies strictly before batch B.</summary>
    private static async Task WaitForBrokerClockAsync(DateTimeOffset from, CancellationToken ct)
    {
        while (DateTimeOffset.UtcNow <= from.AddMilliseconds(5))
        {
            await Task.Delay(5, ct); // millisecond timestamps: wait out the current millisecond
        }
    }

    private static async Task WaitForNoLagAsync(Pipeline pipeline, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await OpsJsonAsync(pipeline, ct, "lag", "--group", pipeline.GroupId)).GetProperty("totalLag").GetInt64() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker's committed offsets never reached the log end");
            await Task.Delay(200, ct); // the worker commits on its interval
        }
    }

    private static async Task<Dictionary<(string, long), (Guid PayloadId, long Position)>> RowsAsync(Pipeline pipeline, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(pipeline.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT session_id, seq, payload_id, position FROM ingest.payloads", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new Dictionary<(string, long), (Guid, long)>();
        while (await reader.ReadAsync(ct))
        {
            rows[(reader.GetString(0), reader.GetInt64(1))] = (reader.GetGuid(2), reader.GetInt64(3));
        }

        return rows;
    }

    private static async Task ExecuteAsync(Pipeline pipeline, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(pipeline.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }
}
