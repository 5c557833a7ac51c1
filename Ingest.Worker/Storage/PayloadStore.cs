using Ingest.Worker.Resilience;
using Npgsql;
using NpgsqlTypes;
using Polly;

namespace Ingest.Worker.Storage;

/// <summary>What a batch write did: one result per message, and the uploads discarded as abandoned.</summary>
public sealed record StoredBatch(IReadOnlyList<StoreResult> Results, IReadOnlyList<Guid> Abandoned);

/// <summary>
/// Writes batches of payloads to <c>ingest.payloads</c>: one transaction per batch. A run of whole payloads is
/// first tried as one binary COPY in offset order (rows, and so <c>position</c>, in applied order), under a
/// savepoint; a COPY the table refuses (a redelivered row's unique key, a refused value) is rolled back to it
/// and the run written as one <c>INSERT … ON CONFLICT DO NOTHING</c> per payload, which absorbs the duplicates
/// and tells new rows from the kinds of duplicate (or throws the data error for the caller to isolate).
/// Transient and persistent database errors are retried with backoff until cancelled; data errors
/// (SQLSTATE 22/23) are thrown for the caller to isolate.
/// </summary>
public sealed class PayloadStore
{
    private const string InsertSql =
        """
        INSERT INTO ingest.payloads (project, session_id, seq, payload_id, content_type, length, checksum,
                                     encoding, body, kafka_partition, kafka_offset, received_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT (project, session_id, seq) DO NOTHING
        """;

    private const string CopySql =
        """
        COPY ingest.payloads (project, session_id, seq, payload_id, content_type, length, checksum,
                              encoding, body, kafka_partition, kafka_offset, received_at)
        FROM STDIN (FORMAT BINARY)
        """;

    /// <summary>
    /// Runs of whole payloads this long are first tried as a COPY (MEASURED.md: binary COPY stores 10 KB rows about
    /// 2×, 100 KB rows several times faster than batched INSERTs); shorter ones are not worth the savepoint.
    /// </summary>
    private const int CopyFrom = 8;

    private const string CopySavepoint = "whole_payloads";

    private const string StoredSql =
        """
        SELECT p.project, p.session_id, p.seq, p.payload_id, p.checksum
        FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(project, session_id, seq)
        JOIN ingest.payloads p ON p.project = k.project AND p.session_id = k.session_id AND p.seq = k.seq
        """;

    /// <summary>Called (on each retry) while a transient or persistent error keeps the batch from the database.</summary>
    private static readonly ResiliencePropertyKey<Action> OnStall = new("ingest.on-stall");

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PayloadStore> _logger;
    private readonly ResiliencePipeline _retry;

    public PayloadStore(NpgsqlDataSource dataSource, ILogger<PayloadStore> logger, TimeProvider timeProvider)
    {
        _dataSource = dataSource;
        _logger = logger;
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
        IReadOnlyList<IncomingPayload> payloads, DateTimeOffset? abandonBefore, Action? onStall, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            if (onStall is not null)
            {
                context.Properties.Set(OnStall, onStall);
            }

            return await _retry.ExecuteAsync(
                async (ctx, state) => await state.Store.WriteAsync(state.Payloads, state.AbandonBefore, ctx.CancellationToken),
                context,
                (Store: this, Payloads: payloads, AbandonBefore: abandonBefore));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Keeps the staged chunks of a chunked payload whose chunk <paramref name="chunk"/> the database refused for
    /// good, so it can be redriven (see <see cref="ChunkWriter.MarkRefusedAsync"/>); retried like a batch. Returns the
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
                    var offsets = await ChunkWriter.MarkRefusedAsync(connection, transaction, state.Chunk, state.Error, ctx.CancellationToken);
                    await transaction.CommitAsync(ctx.CancellationToken);
                    return offsets;
                },
                context,
                (DataSource: _dataSource, Chunk: chunk, Error: error));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<StoredBatch> WriteAsync(IReadOnlyList<IncomingPayload> payloads, DateTimeOffset? abandonBefore, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var results = new StoreResult[payloads.Count];
        var run = new List<int>();
        for (var i = 0; i < payloads.Count; i++)
        {
            if (payloads[i].IsWhole)
            {
                run.Add(i);
                continue;
            }

            // Applied order is offset order: the whole payloads before this chunk go first.
            await WriteWholeAsync(connection, transaction, payloads, run, results, cancellationToken);
            run.Clear();
            results[i] = await ChunkWriter.WriteAsync(connection, transaction, payloads[i], cancellationToken);
        }

        await WriteWholeAsync(connection, transaction, payloads, run, results, cancellationToken);
        List<Guid> abandoned = [];
        if (abandonBefore is { } before && payloads.Count > 0)
        {
            abandoned = await ChunkWriter.DiscardAbandonedAsync(
                connection, transaction, payloads[0].Topic, payloads[0].Partition, before, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new StoredBatch(results, abandoned);
    }

    private static async Task WriteWholeAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<IncomingPayload> payloads, List<int> run,
        StoreResult[] results, CancellationToken cancellationToken)
    {
        if (run.Count == 0)
        {
            return;
        }

        if (run.Count >= CopyFrom && await TryCopyAsync(connection, transaction, payloads, run, cancellationToken))
        {
            foreach (var i in run)
            {
                results[i] = new StoreResult(StoreOutcome.Stored);
            }

            return;
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var i in run)
        {
            batch.BatchCommands.Add(Insert(payloads[i]));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        var conflicts = new List<int>();
        for (var j = 0; j < run.Count; j++)
        {
            if (batch.BatchCommands[j].RecordsAffected == 0)
            {
                conflicts.Add(run[j]);
            }
            else
            {
                results[run[j]] = new StoreResult(StoreOutcome.Stored);
            }
        }

        if (conflicts.Count > 0)
        {
            var stored = await ReadStoredAsync(connection, transaction, conflicts.Select(i => payloads[i]), cancellationToken);
            foreach (var i in conflicts)
            {
                var envelope = payloads[i].Envelope;
                var (payloadId, checksum) = stored[(envelope.ProjectId, envelope.SessionId, envelope.Seq)];
                results[i] = new StoreResult(Duplicates.Classify(payloadId, checksum, envelope));
            }
        }
    }

    /// <summary>
    /// Writes the run with one binary COPY; false (rolled back to the savepoint, nothing written) when the table refuses
    /// a row with a data error (class 22/23: a redelivery's unique key, a refused value). Other errors propagate.
    /// </summary>
    private static async Task<bool> TryCopyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<IncomingPayload> payloads, List<int> run,
        CancellationToken cancellationToken)
    {
        await transaction.SaveAsync(CopySavepoint, cancellationToken);
        try
        {
            await using (var writer = await connection.BeginBinaryImportAsync(CopySql, cancellationToken))
            {
                foreach (var i in run)
                {
                    var payload = payloads[i];
                    var e = payload.Envelope;
                    await writer.StartRowAsync(cancellationToken);
                    await writer.WriteAsync(e.ProjectId, NpgsqlDbType.Text, cancellationToken);
                    await writer.WriteAsync(e.SessionId, NpgsqlDbType.Text, cancellationToken);
                    await writer.WriteAsync(e.Seq, NpgsqlDbType.Bigint, cancellationToken);
                    await writer.WriteAsync(e.PayloadId, NpgsqlDbType.Uuid, cancellationToken);
                    await writer.WriteAsync(e.ContentType, NpgsqlDbType.Text, cancellationToken);
                    await writer.WriteAsync(e.Length, NpgsqlDbType.Bigint, cancellationToken);
                    await writer.WriteAsync(unchecked((long)e.Checksum), NpgsqlDbType.Bigint, cancellationToken);
                    await writer.WriteAsync(e.Encoding, NpgsqlDbType.Text, cancellationToken);
                    await writer.WriteAsync(payload.Body, NpgsqlDbType.Bytea, cancellationToken);
                    await writer.WriteAsync(payload.Partition, NpgsqlDbType.Integer, cancellationToken);
                    await writer.WriteAsync(payload.Offset, NpgsqlDbType.Bigint, cancellationToken);
                    await writer.WriteAsync(e.ReceivedAt, NpgsqlDbType.TimestampTz, cancellationToken);
                }

                await writer.CompleteAsync(cancellationToken);
            }

            await transaction.ReleaseAsync(CopySavepoint, cancellationToken);
            return true;
        }
        catch (PostgresException ex) when (PostgresErrors.ClassifySqlState(ex.SqlState) == StoreErrorKind.Data)
        {
            await transaction.RollbackAsync(CopySavepoint, cancellationToken);
            return false;
        }
    }

    private static NpgsqlBatchCommand Insert(IncomingPayload payload)
    {
        var e = payload.Envelope;
        return new NpgsqlBatchCommand(InsertSql)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = e.ProjectId, NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter<string> { TypedValue = e.SessionId, NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter<long> { TypedValue = e.Seq, NpgsqlDbType = NpgsqlDbType.Bigint },
                new NpgsqlParameter<Guid> { TypedValue = e.PayloadId, NpgsqlDbType = NpgsqlDbType.Uuid },
                new NpgsqlParameter<string> { TypedValue = e.ContentType, NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter<long> { TypedValue = e.Length, NpgsqlDbType = NpgsqlDbType.Bigint },
                // XxHash3-64 is unsigned; bigint keeps its bits.
                new NpgsqlParameter<long> { TypedValue = unchecked((long)e.Checksum), NpgsqlDbType = NpgsqlDbType.Bigint },
                new NpgsqlParameter<string> { TypedValue = e.Encoding, NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter<byte[]> { TypedValue = payload.Body, NpgsqlDbType = NpgsqlDbType.Bytea },
                new NpgsqlParameter<int> { TypedValue = payload.Partition, NpgsqlDbType = NpgsqlDbType.Integer },
                new NpgsqlParameter<long> { TypedValue = payload.Offset, NpgsqlDbType = NpgsqlDbType.Bigint },
                new NpgsqlParameter<DateTimeOffset> { TypedValue = e.ReceivedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz },
            },
        };
    }

    private static async Task<Dictionary<(string, string, long), (Guid, long)>> ReadStoredAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<IncomingPayload> payloads, CancellationToken cancellationToken)
    {
        var keys = payloads.Select(p => p.Envelope).ToList();
        await using var command = new NpgsqlCommand(StoredSql, connection, transaction)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]> { TypedValue = [.. keys.Select(k => k.ProjectId)] },
                new NpgsqlParameter<string[]> { TypedValue = [.. keys.Select(k => k.SessionId)] },
                new NpgsqlParameter<long[]> { TypedValue = [.. keys.Select(k => k.Seq)] },
            },
        };
        var stored = new Dictionary<(string, string, long), (Guid, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored[(reader.GetString(0), reader.GetString(1), reader.GetInt64(2))] = (reader.GetGuid(3), reader.GetInt64(4));
        }

        return stored;
    }
}
