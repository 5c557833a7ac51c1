using Ingest.Storage.Chunks;
using Ingest.Storage.Lifecycle;
using Ingest.Storage.Payloads;
using Ingest.Storage.Resilience;
using Npgsql;
using Polly;

namespace Ingest.Storage.Batches;

/// <summary>What a batch write did: one result per message, and the uploads discarded as abandoned.</summary>
public sealed record StoredBatch(IReadOnlyList<StoreResult> Results, IReadOnlyList<Guid> Abandoned);

/// <summary>
/// One partition's messages (in offset order) for a transaction, and the log time before which that partition's
/// unfinished uploads count as abandoned (none discarded when null).
/// </summary>
public sealed record BatchPart(IReadOnlyList<IncomingPayload> Payloads, DateTimeOffset? AbandonBefore)
{
    /// <summary>The topic its messages were read from (empty for a part without any).</summary>
    public string Topic => Payloads.Count > 0 ? Payloads[0].Topic : "";
}

/// <summary>
/// Writes batches of payloads: one transaction per batch, in offset order. Each run of whole payloads is written as
/// rows by <see cref="PayloadRows"/> (which absorbs redeliveries and tells the kinds of duplicate apart), each chunk
/// is staged by <see cref="ChunkWriter"/> (its payload's row written at its last chunk, the same way). Transient and
/// persistent database errors are retried with backoff until cancelled; data errors (SQLSTATE 22/23) are thrown for
/// the caller to isolate. Each payload expires at its receipt plus its project's retention (<see cref="RetentionPolicy"/>):
/// one already expired is not stored, nor is anything of a session or project erased before the batch.
/// </summary>
public sealed class PayloadStore
{
    /// <summary>Called (on each retry) while a transient or persistent error keeps the batch from the database.</summary>
    private static readonly ResiliencePropertyKey<Action> OnStall = new("ingest.on-stall");

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PayloadStore> _logger;
    private readonly RetentionPolicy _retention;
    private readonly Partitions _partitions;
    private readonly TimeProvider _timeProvider;
    private readonly ResiliencePipeline _retry;

    public PayloadStore(
        NpgsqlDataSource dataSource, ILogger<PayloadStore> logger, RetentionPolicy retention, Partitions partitions, TimeProvider timeProvider)
    {
        _dataSource = dataSource;
        _logger = logger;
        _retention = retention;
        _partitions = partitions;
        _timeProvider = timeProvider;
        _retry = RetryUntilCancelled.Create(
            timeProvider,
            new PredicateBuilder().Handle<Exception>(
                ex => PostgresErrors.Classify(ex) is StoreErrorKind.Transient or StoreErrorKind.Persistent),
            delay: TimeSpan.FromMilliseconds(100),
            // Short enough that a database back after an outage is found within a few seconds.
            maxDelay: TimeSpan.FromSeconds(5),
            args =>
            {
                if (args.Context.Properties.TryGetValue(OnStall, out var onStall))
                {
                    onStall();
                }

                var ex = args.Outcome.Exception!;
                if (PostgresErrors.Classify(ex) == StoreErrorKind.Transient)
                {
                    Log.WriteRetry(_logger, args.AttemptNumber + 1, args.RetryDelay, ex.Message);
                }
                else
                {
                    Log.WriteRetryPersistent(_logger, args.AttemptNumber + 1, args.RetryDelay, ex);
                }

                return default;
            });
    }

    /// <summary>
    /// Stores <paramref name="payloads"/> (messages of one partition, in offset order) in one transaction,
    /// retrying until it succeeds or is cancelled: whole payloads as rows, chunks staged (and their payload
    /// stored at the last one), then the partition's uploads abandoned before <paramref name="abandonBefore"/>
    /// (log time) discarded.
    /// </summary>
    /// <exception cref="PostgresException">A data error (class 22/23): some payload of the batch is refused.</exception>
    public async Task<StoredBatch> StoreAsync(
        IReadOnlyList<IncomingPayload> payloads, DateTimeOffset? abandonBefore, Action? onStall, CancellationToken cancellationToken) =>
        (await StoreAsync([new BatchPart(payloads, abandonBefore)], onStall, cancellationToken))[0];

    /// <summary>
    /// Stores the batches of several partitions in one transaction (one commit for all), each as
    /// <see cref="StoreAsync(IReadOnlyList{IncomingPayload}, DateTimeOffset?, Action?, CancellationToken)"/> would, in the
    /// order given; retried until it succeeds or is cancelled. Returns one <see cref="StoredBatch"/> per part.
    /// </summary>
    /// <exception cref="PostgresException">A data error (class 22/23): some payload of some part is refused, and nothing is stored.</exception>
    public async Task<IReadOnlyList<StoredBatch>> StoreAsync(IReadOnlyList<BatchPart> parts, Action? onStall, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            if (onStall is not null)
            {
                context.Properties.Set(OnStall, onStall);
            }

            return await _retry.ExecuteAsync(
                async (ctx, state) => await state.Store.WriteAsync(state.Parts, ctx.CancellationToken),
                context,
                (Store: this, Parts: parts));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Keeps the staged chunks of a chunked payload whose chunk <paramref name="chunk"/> the database refused for
    /// good, so it can be redriven (see <see cref="PendingUploads.MarkRefusedAsync"/>); retried like a batch. Returns the
    /// staged chunks' offsets for the dead letter.
    /// </summary>
    public async Task<string> KeepRefusedUploadAsync(IncomingPayload chunk, string error, Action? onStall, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            if (onStall is not null)
            {
                context.Properties.Set(OnStall, onStall);
            }

            return await _retry.ExecuteAsync(
                async (ctx, state) =>
                {
                    await using var connection = await state.DataSource.OpenConnectionAsync(ctx.CancellationToken);
                    await using var transaction = await connection.BeginTransactionAsync(ctx.CancellationToken);
                    var e = state.Chunk.Envelope;
                    var offsets = await PendingUploads.MarkRefusedAsync(
                        connection, transaction, state.Chunk, state.Error, state.Retention.ExpiresAt(e.ProjectId, e.ReceivedAt), ctx.CancellationToken);
                    await transaction.CommitAsync(ctx.CancellationToken);
                    return offsets;
                },
                context,
                (DataSource: _dataSource, Chunk: chunk, Error: error, Retention: _retention));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<IReadOnlyList<StoredBatch>> WriteAsync(IReadOnlyList<BatchPart> parts, CancellationToken cancellationToken)
    {
        try
        {
            return await WriteAsync(parts, copyUnseen: true, cancellationToken);
        }
        catch (UnseenRowConflictException ex)
        {
            // Nothing of the first attempt is committed; every row checked this time, so the stored copy is found.
            Log.UnseenRowConflict(_logger, ex.InnerException!.Message);
            return await WriteAsync(parts, copyUnseen: false, cancellationToken);
        }
    }

    private async Task<IReadOnlyList<StoredBatch>> WriteAsync(IReadOnlyList<BatchPart> parts, bool copyUnseen, CancellationToken cancellationToken)
    {
        // The parts' messages as one sequence: each partition's stay in offset order, and a session lives in one partition.
        var payloads = parts.SelectMany(p => p.Payloads).ToList();
        var now = _timeProvider.GetUtcNow();
        var expiries = payloads.Select(p => _retention.ExpiresAt(p.Envelope.ProjectId, p.Envelope.ReceivedAt)).ToArray();
        if (expiries.Length > 0 && expiries.Max() is var latest && latest >= _partitions.CoveredUntil)
        {
            await _partitions.EnsureCoveredAsync(latest, cancellationToken);
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var live = Enumerable.Range(0, payloads.Count).Where(i => expiries[i] > now).ToList();
        var sessions = await BatchSessions.UpsertAsync(connection, transaction, live.Select(i => (payloads[i], expiries[i])), cancellationToken);
        var rows = new PayloadRows(connection, transaction, sessions, copyUnseen);
        var results = new StoreResult[payloads.Count];
        var run = new List<int>();
        for (var i = 0; i < payloads.Count; i++)
        {
            if (expiries[i] <= now)
            {
                results[i] = new StoreResult(StoreOutcome.Expired);
            }
            else if (sessions.IsErased(payloads[i].Envelope))
            {
                results[i] = new StoreResult(StoreOutcome.Erased);
            }
            else if (payloads[i].IsWhole)
            {
                run.Add(i);
            }
            else
            {
                // Applied order is offset order: the whole payloads before this chunk go first.
                await WriteWholeAsync(rows, payloads, expiries, run, results, cancellationToken);
                run.Clear();
                results[i] = await ChunkWriter.WriteAsync(rows, connection, transaction, payloads[i], expiries[i], now, cancellationToken);
            }
        }

        await WriteWholeAsync(rows, payloads, expiries, run, results, cancellationToken);
        var stored = new StoredBatch[parts.Count];
        var first = 0;
        for (var p = 0; p < parts.Count; p++)
        {
            var part = parts[p].Payloads;
            List<Guid> abandoned = [];
            if (parts[p].AbandonBefore is { } before && part.Count > 0)
            {
                abandoned = await PendingUploads.DiscardAbandonedAsync(
                    connection, transaction, part[0].Topic, part[0].Partition, before, cancellationToken);
            }

            stored[p] = new StoredBatch(new ArraySegment<StoreResult>(results, first, part.Count), abandoned);
            first += part.Count;
        }

        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    private static async Task WriteWholeAsync(
        PayloadRows rows, IReadOnlyList<IncomingPayload> payloads, DateTimeOffset[] expiries, List<int> run, StoreResult[] results,
        CancellationToken cancellationToken)
    {
        var written = await rows.InsertAsync([.. run.Select(i => PayloadRow.Whole(payloads[i], expiries[i]))], cancellationToken);
        for (var j = 0; j < run.Count; j++)
        {
            results[run[j]] = written[j];
        }
    }
}
