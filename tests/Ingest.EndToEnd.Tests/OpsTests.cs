using System.Text.Json;
using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;
using Ingest.Testing;

namespace Ingest.EndToEnd.Tests;

/// <summary>The on-call commands against a running pipeline: what they print is what the broker and store hold.</summary>
public sealed class OpsTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task Lag_counts_unprocessed_messages_and_drops_to_zero_once_the_worker_has_stored_them()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 3, ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        for (var seq = 0; seq < 12; seq++)
        {
            await Payloads.PostAcceptedAsync(client, $"lag-{seq % 4}", seq / 4, Payloads.Make("lag", seq, 500), ct);
        }

        var before = await OpsJsonAsync(pipeline, ct, "lag", "--group", pipeline.GroupId);
        Assert.Equal(12, before.GetProperty("totalLag").GetInt64());

        await pipeline.StartWorkerAsync(ct);
        await pipeline.WaitForStoredAsync(12, TimeSpan.FromSeconds(60), ct);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement after;
        while ((after = await OpsJsonAsync(pipeline, ct, "lag", "--group", pipeline.GroupId)).GetProperty("totalLag").GetInt64() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker's committed offsets never reached the log end");
            await Task.Delay(200, ct); // the worker commits on its interval
        }

        Assert.Equal(0, after.GetProperty("totalLag").GetInt64());
    }

    [Fact]
    public async Task Describe_lists_every_partition_and_says_when_configs_cannot_be_read()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 5, ct);

        var described = await OpsJsonAsync(pipeline, ct, "topics", "describe");

        Assert.Equal(5, described.GetProperty("partitions").GetArrayLength());
        if (kafka.IsMock)
        {
            Assert.Contains("cannot describe configs", described.GetProperty("configError").GetString(), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("producer", described.GetProperty("configs").GetProperty("compression.type").GetString());
        }
    }

    [Fact]
    public async Task A_mistyped_topic_is_not_found_and_not_created()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        var missing = $"mistyped-{Guid.NewGuid():N}";

        string[][] commands = [["lag", "--group", pipeline.GroupId], ["topics", "describe"], ["dlq", "list"]];
        foreach (var args in commands)
        {
            var (code, _, error) = await OpsAsync(pipeline, ct, [.. args, "--topic", missing]);
            Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}, {error}");
            Assert.Contains("not found", error, StringComparison.Ordinal);
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = pipeline.BootstrapServers }).Build();
        Assert.DoesNotContain(admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics, t => t.Topic.StartsWith(missing, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ensure_leaves_an_existing_topic_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);

        var (code, output, _) = await OpsAsync(pipeline, ct, "topics", "ensure", "--partitions", "6");

        Assert.Equal(0, code);
        Assert.Contains("partitions are never changed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ensure_creates_a_missing_topic_or_says_clearly_that_the_broker_cannot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        var topic = $"ensure-{Guid.NewGuid():N}";

        var (code, output, error) = await OpsAsync(pipeline, ct, "topics", "ensure", "--topic", topic, "--partitions", "3");

        if (kafka.IsMock)
        {
            Assert.Equal(1, code);
            Assert.Contains("no CreateTopics", error, StringComparison.Ordinal);
            Assert.Single(error.Trim().Split('\n'));
        }
        else
        {
            Assert.Equal(0, code);
            Assert.Contains("created", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Dlq_list_and_show_report_a_dead_letter_with_its_origin()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 1, ct);
        await pipeline.StartWorkerAsync(ct);
        using (var producer = new ProducerBuilder<string, string>(kafka.Configure(new ProducerConfig { Acks = Acks.All })).Build())
        {
            await producer.ProduceAsync(pipeline.Topic, new Message<string, string> { Key = "junk", Value = "not an envelope" }, ct);
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement letters;
        while ((letters = await OpsJsonAsync(pipeline, ct, "dlq", "list")).GetArrayLength() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "nothing reached the dead-letter topic");
            await Task.Delay(200, ct);
        }

        var letter = letters[0];
        Assert.Equal("0", letter.GetProperty("headers").GetProperty(DeadLetterHeaders.Offset).GetString());
        var position = $"{letter.GetProperty("partition").GetInt32()}:{letter.GetProperty("offset").GetInt64()}";
        var shown = await OpsJsonAsync(pipeline, ct, "dlq", "show", position);
        Assert.Equal(pipeline.Topic, shown.GetProperty("headers").GetProperty(DeadLetterHeaders.Topic).GetString());

        // Redriven unchanged, it is still junk: the worker dead-letters it again, now marked as redriven.
        var dry = await OpsJsonAsync(pipeline, ct, "dlq", "redrive", "--dry-run", "--group", $"redrive-{Guid.NewGuid():N}");
        Assert.Equal(1, dry.GetProperty("count").GetInt32());
        var redriven = await OpsJsonAsync(pipeline, ct, "dlq", "redrive", "--offset", position);
        Assert.Equal("message", redriven.GetProperty("letters")[0].GetProperty("kind").GetString());
        deadline = DateTime.UtcNow.AddSeconds(60);
        while ((letters = await OpsJsonAsync(pipeline, ct, "dlq", "list")).GetArrayLength() < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the redriven letter never came back to the dead-letter topic");
            await Task.Delay(200, ct);
        }

        Assert.Contains(letters.EnumerateArray(), l => l.GetProperty("headers").TryGetProperty(DeadLetterHeaders.RedrivenFrom, out _));
    }

    [Fact]
    public async Task Sessions_show_lists_stored_payloads_in_order_and_fails_clearly_for_an_unknown_session()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pipeline = await Pipeline.CreateAsync(kafka, postgres, partitions: 2, ct);
        await pipeline.StartWorkerAsync(ct);
        await pipeline.StartApiAsync(ct);
        using var client = pipeline.Client(Pipeline.IngestReadKey);
        for (var seq = 0; seq < 5; seq++)
        {
            await Payloads.PostAcceptedAsync(client, "ops-session", seq, Payloads.Make("ops-session", seq, 300), ct);
        }

        await pipeline.WaitForStoredAsync(5, TimeSpan.FromSeconds(60), ct);
        var shown = await OpsJsonAsync(pipeline, ct, "sessions", "show", "ops-session", "--project", Pipeline.Project);
        Assert.Equal([0L, 1, 2, 3, 4], shown.GetProperty("payloads").EnumerateArray().Select(p => p.GetProperty("seq").GetInt64()));

        var (code, _, error) = await OpsAsync(pipeline, ct, "sessions", "show", "nobody", "--project", Pipeline.Project);
        Assert.Equal(1, code);
        Assert.StartsWith("ingest-ops: ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("topics")]
    [InlineData("dlq", "show")]
    [InlineData("lag", "--group")]
    public async Task Bad_arguments_exit_2_with_one_line(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(2, await Ops.Program.MainAsync(args, output, error));
        Assert.Single(error.ToString().Trim().Split('\n'));
    }

    /// <summary>Was the worker's <c>redrive</c> subcommand's test: the one redrive is now <c>ingest-ops dlq redrive</c>.</summary>
    [Fact]
    public async Task Redrive_with_a_bad_option_or_without_a_reachable_broker_exits_non_zero_with_one_line()
    {
        var (badOption, _, message) = await RedriveAsync(["--offset", "3"]);
        Assert.Equal(2, badOption); // bad arguments
        Assert.Contains("--offset", message, StringComparison.Ordinal);
        Assert.Single(message.Trim().Split('\n'));

        // Port 1 on loopback: nothing listens.
        var (noBroker, _, error) = await RedriveAsync(["--bootstrap", "127.0.0.1:1"]);
        Assert.Equal(1, noBroker); // a failure
        Assert.StartsWith("ingest-ops: ", error.Trim(), StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));

        static async Task<(int Code, string Output, string Error)> RedriveAsync(string[] args)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await Ops.Program.MainAsync(["dlq", "redrive", "--topic", "ingest.payloads", .. args], output, error);
            return (code, output.ToString(), error.ToString());
        }
    }

    internal static async Task<(int Code, string Output, string Error)> OpsAsync(Pipeline pipeline, CancellationToken ct, params string[] args)
    {
        _ = ct;
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Ops.Program.MainAsync(
            [.. args, "--bootstrap", pipeline.BootstrapServers, "--db", pipeline.ConnectionString, .. (args.Contains("--topic") ? Array.Empty<string>() : ["--topic", pipeline.Topic])],
            output, error);
        return (code, output.ToString(), error.ToString());
    }

    internal static async Task<JsonElement> OpsJsonAsync(Pipeline pipeline, CancellationToken ct, params string[] args)
    {
        var (code, output, error) = await OpsAsync(pipeline, ct, [.. args, "--json"]);
        Assert.True(code == 0, $"ingest-ops {string.Join(' ', args)} exited {code}: {error}");
        using var document = JsonDocument.Parse(output);
        return document.RootElement.Clone();
    }
}
