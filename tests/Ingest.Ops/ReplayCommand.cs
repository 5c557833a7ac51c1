using System.Globalization;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Ingest.Contracts.Identity;
using Ingest.Storage.Batches;
using Ingest.Storage.Lifecycle;
using Ingest.Storage.Payloads;
using Ingest.Storage.Replay;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Ops;

/// <summary>
/// <c>replay --from T [--to T] [--session ID --project P]</c>: re-reads a range of the payload topic and applies it
/// with the worker's own store code (<see cref="PayloadStore"/>: whole payloads and chunks, idempotent), so what is
/// stored stays as it is and what is missing — after a database restore — is written back. It reads by explicit
/// assignment and commits nothing, so the workers' group is untouched; it never dead-letters (the workers did).
/// </summary>
public static class ReplayCommand
{
    private const int MaxBatchMessages = 200;
    private const long MaxBatchBytes = 8L * 1024 * 1024;

    public sealed record Request(DateTimeOffset From, DateTimeOffset? To, string? Session, string Project, string Group);

    public static async Task<int> RunAsync(OpsContext context, Request request, CancellationToken cancellationToken)
    {
        if (request.Session is not null && (!Ids.IsValidProjectId(request.Project) || !Ids.IsValidSessionId(request.Session)))
        {
            throw new OpsException("project and session ids are 1-64 / 1-128 characters of A-Z a-z 0-9 _ -");
        }

        using var admin = context.Admin();
        Metadata metadata;
        try
        {
            // All topics: asking for one by name lets a broker with auto-creation (the mock has it) create it.
            metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        }
        catch (KafkaException ex)
        {
            throw new OpsException($"cannot reach the broker at {context.Bootstrap}: {ex.Error.Reason}");
        }

        var topic = metadata.Topics.SingleOrDefault(t => t.Topic == context.Topic);
        if (topic is null || topic.Error.IsError || topic.Partitions.Count == 0)
        {
            throw new OpsException($"topic {context.Topic} not found");
        }

        // The store retries transient errors until cancelled: its warnings say why a replay waits.
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)
            .AddFilter((_, level) => level >= LogLevel.Warning)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        await using var source = NpgsqlDataSource.Create(context.Database);
        await CheckStoreAsync(source, cancellationToken);
        var store = new PayloadStore(source, loggers.CreateLogger<PayloadStore>(), context.Retention,
            new Partitions(source, Options.Create(context.Lifecycle), context.Retention, TimeProvider.System), TimeProvider.System);

        var key = request.Session is { } s ? SessionKey.For(request.Project, s) : null;
        // A session lives on one partition: only that one needs reading.
        List<int> partitions = key is not null
            ? [SessionKey.PartitionFor(key, topic.Partitions.Count)]
            : [.. topic.Partitions.Select(p => p.PartitionId).Order()];

        using var reader = Consumer(context, $"ingest-ops-replay-{Guid.NewGuid():N}");
        using var group = Consumer(context, request.Group); // OffsetFetch only: never joins, never commits
        var ranges = await ReplayRange.ResolveAsync(reader, group, source, context.Topic, partitions, request.From, request.To, cancellationToken);
        var counts = new Counts();
        foreach (var range in ranges.Where(r => r.End > r.Start))
        {
            await ReplayPartitionAsync(reader, store, context.Topic, range, key, counts, cancellationToken);
        }

        context.Print(new { topic = context.Topic, request.From, request.To, request.Group, session = key is null ? null : $"{request.Project}/{request.Session}", partitions = ranges, applied = counts }, w =>
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"replay of {context.Topic} from {request.From:O}{(request.To is { } t ? $" to {t:O}" : "")}{(key is null ? "" : $", session {request.Project}/{request.Session}")}"));
            foreach (var r in ranges)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  partition {r.Partition,3}: offsets {r.Start}…{r.End} ({r.Read} read)  start by {r.StartMethod}; end by {r.EndMethod}"));
            }

            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"written back {counts.Written}, already stored {counts.AlreadyStored} (no-ops), other duplicates {counts.Duplicates}, chunks staged {counts.ChunksStaged}, "
                + $"incomplete uploads {counts.Incomplete}, refused {counts.Refused}, undecodable {counts.Undecodable}"));
            if (counts.Incomplete > 0)
            {
                w.WriteLine("  some chunked uploads began before the range and are not stored: widen --from");
            }
        });
        return 0;
    }

    private static async Task ReplayPartitionAsync(
        IConsumer<byte[]?, byte[]?> reader, PayloadStore store, string topic, PartitionRange range, byte[]? key, Counts counts, CancellationToken cancellationToken)
    {
        reader.Assign(new TopicPartitionOffset(topic, range.Partition, range.Start));
        try
        {
            var batch = new List<IncomingPayload>();
            long bytes = 0;
            var open = new HashSet<Guid>(); // uploads begun and not finished: read on past the end until they are
            var end = range.End;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = reader.Consume(TimeSpan.FromSeconds(10))
                    ?? throw new OpsException($"no answer from {topic} [{range.Partition}] at offset {range.Start + range.Read} within 10 s");
                if (result.IsPartitionEOF || (result.Offset.Value >= end && open.Count == 0) || result.Offset.Value >= range.LogEnd)
                {
                    break;
                }

                range.Read++;
                if (key is not null && !(result.Message.Key ?? []).AsSpan().SequenceEqual(key))
                {
                    continue;
                }

                if (result.Offset.Value >= end && !open.Contains(Header(result, IngestHeaders.PayloadId)))
                {
                    continue; // past the end only the open uploads are finished; the workers apply the rest, in order
                }

                IncomingPayload payload;
                try
                {
                    payload = IncomingPayload.FromMessage(result);
                }
                catch (Exception ex) when (ex is EnvelopeException or PayloadFormatException)
                {
                    counts.Undecodable++; // the workers dead-lettered it when it first came
                    continue;
                }

                if (!payload.IsWhole)
                {
                    // An abort marker ends its upload as a last chunk would (the worker drops what was staged).
                    _ = payload.Envelope.IsLastChunk || payload.Envelope.IsAbort ? open.Remove(payload.Envelope.PayloadId) : open.Add(payload.Envelope.PayloadId);
                }

                batch.Add(payload);
                bytes += payload.Body.Length;
                if (batch.Count >= MaxBatchMessages || bytes >= MaxBatchBytes)
                {
                    await StoreAsync(store, batch, counts, cancellationToken);
                    (batch, bytes) = ([], 0);
                }
            }

            await StoreAsync(store, batch, counts, cancellationToken);
        }
        finally
        {
            reader.Unassign();
        }
    }

    /// <summary>One transaction as the worker writes it; a payload the database refuses is isolated by storing one by one.</summary>
    private static async Task StoreAsync(PayloadStore store, List<IncomingPayload> batch, Counts counts, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            // No abandonBefore: discarding abandoned uploads by log time is the workers' job, not a replay's.
            counts.Add((await store.StoreAsync(batch, null, null, cancellationToken)).Results);
        }
        catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data && batch.Count > 1)
        {
            foreach (var payload in batch)
            {
                await StoreAsync(store, [payload], counts, cancellationToken);
            }
        }
        catch (Exception ex) when (PostgresErrors.Classify(ex) == StoreErrorKind.Data)
        {
            counts.Refused++;
        }
    }

    private static Guid Header(ConsumeResult<byte[]?, byte[]?> result, string name) =>
        result.Message.Headers?.TryGetLastBytes(name, out var bytes) == true && Guid.TryParseExact(System.Text.Encoding.UTF8.GetString(bytes), "N", out var id)
            ? id
            : Guid.Empty;

    private static async Task CheckStoreAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        try
        {
            if (!await ReplayQueries.HasSchemaAsync(source, cancellationToken))
            {
                throw new OpsException("the store has no ingest.payloads table: start a worker once, it applies the schema");
            }
        }
        catch (NpgsqlException ex)
        {
            throw new OpsException("cannot reach the store", ex);
        }
    }

    private static IConsumer<byte[]?, byte[]?> Consumer(OpsContext context, string groupId) =>
        new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = context.Bootstrap,
            GroupId = groupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            FetchWaitMaxMs = 10,
            AutoOffsetReset = AutoOffsetReset.Error, // a start that fell off the log is reported, not silently moved
        }).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();

    /// <summary>What replay did, by the store's outcome for each message.</summary>
    public sealed class Counts
    {
        public long Written { get; set; }

        public long AlreadyStored { get; set; }

        public long Duplicates { get; set; }

        public long ChunksStaged { get; set; }

        public long Incomplete { get; set; }

        public long Refused { get; set; }

        public long Undecodable { get; set; }

        public void Add(IEnumerable<StoreResult> results)
        {
            foreach (var r in results)
            {
                switch (r.Outcome)
                {
                    case StoreOutcome.Stored: Written++; break;
                    case StoreOutcome.Redelivery or StoreOutcome.ChunkRedelivery: AlreadyStored++; break;
                    case StoreOutcome.ClientRetry or StoreOutcome.ConflictingDuplicate: Duplicates++; break;
                    case StoreOutcome.ChunkStaged: ChunksStaged++; break;
                    case StoreOutcome.DataLoss: Incomplete++; break;
                    case StoreOutcome.Poison: Refused++; break;
                }
            }
        }
    }
}
