using System.CommandLine;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.Identity;
using Ingest.Worker.DeadLetter;

namespace Ingest.Worker.Redrive;

/// <summary>
/// <c>dotnet Ingest.Worker.dll redrive --from-dlq {topic} [--bootstrap …] [--to …] [--group …]</c>: copies
/// what is in a dead-letter topic back to the payload topic (key, value and envelope headers; the
/// worker's <c>ingest-dlq-*</c> headers dropped), so a payload fixed at its cause is stored — at a later
/// position than when it first came. Progress is committed under a consumer group, so a second run
/// redrives only what was dead-lettered since.
/// </summary>
public static class RedriveCommand
{
    /// <summary>Header naming where a redriven message came from (<c>{dlq}/{partition}@{offset}</c>).</summary>
    public const string RedrivenFromHeader = "ingest-redriven-from";

    /// <summary>Builds the <c>redrive</c> subcommand.</summary>
    public static Command Create()
    {
        var from = new Option<string>("--from-dlq") { Description = "Dead-letter topic to read, e.g. ingest.payloads.dlq.", Required = true };
        var bootstrap = new Option<string>("--bootstrap")
        {
            Description = "Kafka bootstrap servers (host:port,…).",
            // The same variable the worker reads its broker from, so on a worker's host no flag is needed.
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Kafka__BootstrapServers") ?? "localhost:9092",
        };
        var to = new Option<string?>("--to") { Description = "Topic to write to; default: each message's original topic (ingest-dlq-topic header)." };
        var group = new Option<string>("--group")
        {
            Description = "Consumer group that records what was redriven.",
            DefaultValueFactory = _ => "ingest-redrive",
        };
        var command = new Command("redrive", "Copy dead-lettered payloads back to the payload topic.") { from, bootstrap, to, group };
        command.SetAction((result, token) => RunAsync(
            result.GetValue(from)!, result.GetValue(bootstrap)!, result.GetValue(to), result.GetValue(group)!, token));
        return command;
    }

    /// <summary>Runs the command line if it is a tool command; null when the worker should start instead.</summary>
    public static int? TryRun(string[] args)
    {
        if (args.Length == 0 || args[0] != "redrive")
        {
            return null;
        }

        var root = new RootCommand("Ingest worker tools.") { Create() };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Bad arguments: one line and exit 2, like every other Ingest tool (failures exit 1).
            Console.Error.WriteLine($"redrive: {parsed.Errors[0].Message}");
            return 2;
        }

        return parsed.Invoke();
    }

    private static async Task<int> RunAsync(string dlq, string bootstrap, string? to, string group, CancellationToken cancellationToken)
    {
        try
        {
            var count = await Task.Run(() => Redrive(dlq, bootstrap, to, group, cancellationToken), cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Redrove {count} message(s) from {dlq}."));
            return 0;
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"redrive: {ex.Message}");
            return 1;
        }
    }

    private static int Redrive(string dlq, string bootstrap, string? to, string group, CancellationToken cancellationToken)
    {
        var partitions = Partitions(bootstrap, dlq);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).SetLogHandler(Quiet).SetErrorHandler(Quiet).Build();
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            Partitioner = SessionKey.Partitioner, // the session's partition, as the API would choose it
            MessageMaxBytes = 134217728,
        }).SetLogHandler(Quiet).SetErrorHandler(Quiet).Build();

        var committed = consumer.Committed(partitions, TimeSpan.FromSeconds(10));
        consumer.Assign(committed.Select(c => new TopicPartitionOffset(c.TopicPartition, c.Offset == Offset.Unset ? Offset.Beginning : c.Offset)));
        var atEnd = new HashSet<int>();
        var count = 0;
        while (atEnd.Count < partitions.Count)
        {
            var result = consumer.Consume(cancellationToken);
            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                continue;
            }

            atEnd.Remove(result.Partition.Value);
            var target = to ?? Header(result, DeadLetterHeaders.Topic)
                ?? throw new InvalidOperationException($"{dlq}/{result.Partition.Value}@{result.Offset.Value} has no {DeadLetterHeaders.Topic} header; pass --to.");
            var headers = new Headers();
            foreach (var header in (result.Message.Headers ?? []).Where(h => !DeadLetterHeaders.IsDeadLetterHeader(h.Key) && h.Key != RedrivenFromHeader))
            {
                headers.Add(header.Key, header.GetValueBytes());
            }

            headers.Add(RedrivenFromHeader, Encoding.UTF8.GetBytes(result.TopicPartitionOffset.ToString()));
            producer.ProduceAsync(target, new Message<byte[]?, byte[]?> { Key = result.Message.Key, Value = result.Message.Value, Headers = headers }, cancellationToken)
                .GetAwaiter().GetResult();
            consumer.Commit([new TopicPartitionOffset(result.TopicPartition, result.Offset + 1)]);
            count++;
        }

        return count;
    }

    private static List<TopicPartition> Partitions(string bootstrap, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap })
            .SetLogHandler(Quiet).SetErrorHandler(Quiet).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == topic);
        if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"Topic {topic} not found on {bootstrap}{(metadata is null ? "" : $": {metadata.Error.Reason}")}.");
        }

        return [.. metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId))];
    }

    /// <summary>librdkafka's own logging would bury the one line a tool prints; failures surface as exceptions.</summary>
    private static void Quiet<TClient, TEvent>(TClient client, TEvent message)
    {
    }

    private static string? Header(ConsumeResult<byte[]?, byte[]?> result, string name) =>
        result.Message.Headers?.TryGetLastBytes(name, out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;
}
