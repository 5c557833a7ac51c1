using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts;
using Ingest.Contracts.DeadLetter;
using Ingest.Contracts.Envelope;

namespace Ingest.Ops;

/// <summary><c>dlq list</c> and <c>dlq show</c>: what was dead-lettered, why, and from where.</summary>
public static class DlqCommands
{
    public static Task<int> ListAsync(OpsContext context, int limit, CancellationToken cancellationToken)
    {
        var letters = Read(context, limit, null, cancellationToken);
        context.Print(letters.Select(l => l.Summary()).ToList(), w =>
        {
            w.WriteLine($"{letters.Count} dead letter(s) in {IngestTopics.DeadLetterFor(context.Topic)}{(letters.Count == limit ? $" (first {limit})" : "")}");
            foreach (var l in letters)
            {
                w.WriteLine($"  {l.Partition}:{l.Offset}  {Header(l, IngestHeaders.Session)}/{Header(l, IngestHeaders.Seq)}  from {Header(l, DeadLetterHeaders.Partition)}:{Header(l, DeadLetterHeaders.Offset)}  {Header(l, DeadLetterHeaders.Error)}");
            }
        });
        return Task.FromResult(0);
    }

    public static Task<int> ShowAsync(OpsContext context, string position, CancellationToken cancellationToken)
    {
        var parts = position.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            throw new OpsException($"'{position}' is not PARTITION:OFFSET (e.g. 3:42)");
        }

        var letter = Read(context, 1, new TopicPartitionOffset(IngestTopics.DeadLetterFor(context.Topic), partition, offset), cancellationToken)
            .FirstOrDefault(l => l.Partition == partition && l.Offset == offset)
            ?? throw new OpsException($"no dead letter at {position}");
        context.Print(letter.Summary(), w =>
        {
            w.WriteLine($"dead letter {position} ({letter.ValueBytes} value bytes, written {letter.Timestamp:O})");
            foreach (var (key, value) in letter.Headers)
            {
                w.WriteLine($"  {key}: {value}");
            }
        });
        return Task.FromResult(0);
    }

    private static string Header(Letter letter, string name) => letter.Headers.GetValueOrDefault(name, "?");

    private static List<Letter> Read(OpsContext context, int limit, TopicPartitionOffset? only, CancellationToken cancellationToken)
    {
        var dlq = IngestTopics.DeadLetterFor(context.Topic);
        using var reader = context.Reader();
        using var admin = context.Admin();
        var topic = admin.GetMetadata(dlq, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == dlq);
        if (topic is null || topic.Error.IsError)
        {
            throw new OpsException($"dead-letter topic {dlq} not found");
        }

        var assignment = only is not null
            ? [only]
            : topic.Partitions.Select(p => new TopicPartitionOffset(dlq, p.PartitionId, Offset.Beginning)).ToList();
        var open = assignment.Where(a => reader.QueryWatermarkOffsets(a.TopicPartition, TimeSpan.FromSeconds(10)) is var w && w.High > (a.Offset == Offset.Beginning ? w.Low : a.Offset))
            .Select(a => a.Partition.Value).ToHashSet();
        reader.Assign(assignment.Where(a => open.Contains(a.Partition.Value)));
        var letters = new List<Letter>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (open.Count > 0 && letters.Count < limit && DateTime.UtcNow < deadline)
        {
            var result = reader.Consume(TimeSpan.FromSeconds(1));
            cancellationToken.ThrowIfCancellationRequested();
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF || only is not null)
            {
                open.Remove(result.Partition.Value);
            }

            if (!result.IsPartitionEOF)
            {
                letters.Add(new Letter(result.Partition.Value, result.Offset.Value, result.Message.Timestamp.UtcDateTime, result.Message.Value?.Length ?? 0,
                    (result.Message.Headers ?? []).GroupBy(h => h.Key).ToDictionary(g => g.Key, g => Encoding.UTF8.GetString(g.Last().GetValueBytes()), StringComparer.Ordinal)));
            }
        }

        return letters;
    }

    public sealed record Letter(int Partition, long Offset, DateTime Timestamp, int ValueBytes, Dictionary<string, string> Headers)
    {
        public object Summary() => new { partition = Partition, offset = Offset, timestamp = Timestamp, valueBytes = ValueBytes, headers = Headers };
    }
}
