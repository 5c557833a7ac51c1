using Ingest.Storage.Batches;
using Ingest.Storage.Payloads;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Consuming;

/// <summary>
/// Stores the lanes' batches in shared transactions: at most <see cref="WorkerOptions.MaxConcurrentTransactions"/> run at
/// once, and each takes every batch waiting when it starts (up to <see cref="WorkerOptions.MaxTransactionMessages"/> and
/// <see cref="WorkerOptions.MaxTransactionBytes"/>), so many partitions' small batches share one commit instead of each
/// paying a transaction of its own. A partition's order is kept by its lane, which sends its next batch only once this one
/// is stored. When a shared transaction is refused for its data (SQLSTATE class 22/23), each batch is stored again in a
/// transaction of its own, so only the batch holding the refused payload fails (and its lane isolates the payload).
/// </summary>
internal sealed class SharedTransactions(PayloadStore store, IOptions<WorkerOptions> options, WorkerTelemetry telemetry, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private readonly List<Request> _waiting = [];
    private int _running;

    /// <summary>Stores one partition's batch, with others waiting at the same time; the lane's cancellation stops its wait.</summary>
    /// <exception cref="Npgsql.PostgresException">A data error (class 22/23) refused a payload of this batch.</exception>
    public async Task<StoredBatch> StoreAsync(BatchPart part, Action? onStall, CancellationToken cancellationToken)
    {
        var request = new Request(part, onStall, cancellationToken, timeProvider.GetTimestamp());
        var start = false;
        lock (_gate)
        {
            _waiting.Add(request);
            if (_running < options.Value.MaxConcurrentTransactions)
            {
                _running++;
                start = true;
            }
        }

        if (start)
        {
            _ = Task.Run(RunAsync, CancellationToken.None);
        }

        return await request.Stored.Task.WaitAsync(cancellationToken);
    }

    /// <summary>One transaction after another, each with what is waiting, until nothing is.</summary>
    private async Task RunAsync()
    {
        while (TakeGroup() is { } group)
        {
            await StoreGroupAsync(group);
        }
    }

    private List<Request>? TakeGroup()
    {
        lock (_gate)
        {
            _waiting.RemoveAll(r => r.Stored.Task.IsCompleted);
            if (_waiting.Count == 0)
            {
                _running--;
                return null;
            }

            var (messages, bytes) = (0, 0L);
            var group = new List<Request>();
            foreach (var request in _waiting)
            {
                if (request.CancellationToken.IsCancellationRequested)
                {
                    request.Stored.TrySetCanceled(request.CancellationToken);
                    continue;
                }

                var (m, b) = (request.Part.Payloads.Count, request.Part.Payloads.Sum(p => (long)p.Body.Length));
                if (group.Count > 0 && (messages + m > options.Value.MaxTransactionMessages || bytes + b > options.Value.MaxTransactionBytes))
                {
                    break;
                }

                group.Add(request);
                (messages, bytes) = (messages + m, bytes + b);
            }

            _waiting.RemoveAll(r => r.Stored.Task.IsCompleted || group.Contains(r));
            if (group.Count == 0)
            {
                _running--; // every waiting lane gave up
                return null;
            }

            return group;
        }
    }

    private async Task StoreGroupAsync(List<Request> group)
    {
        // The shared transaction is retried (the database away) until every lane in it has given up waiting.
        using var allCancelled = new CancellationTokenSource();
        var remaining = group.Count;
        var registrations = group.Select(r => r.CancellationToken.Register(() =>
        {
            if (Interlocked.Decrement(ref remaining) == 0)
            {
                allCancelled.Cancel();
            }
        })).ToList();
        var started = timeProvider.GetTimestamp();
        foreach (var request in group)
        {
            telemetry.TransactionWaited(request.Part.Topic, timeProvider.GetElapsedTime(request.Queued, started));
        }

        try
        {
            var stored = await store.StoreAsync([.. group.Select(r => r.Part)], () => group.ForEach(r => r.OnStall?.Invoke()), allCancelled.Token);
            telemetry.TransactionStored(group[0].Part.Topic, timeProvider.GetElapsedTime(started));
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Stored.TrySetResult(stored[i]);
            }
        }
        catch (Exception ex) when (group.Count > 1 && PostgresErrors.Classify(ex) == StoreErrorKind.Data)
        {
            // Some batch holds a payload the table refuses: each alone, so the others are stored and that one fails.
            foreach (var request in group)
            {
                await StoreAloneAsync(request);
            }
        }
        catch (Exception ex)
        {
            group.ForEach(r => r.Stored.TrySetException(ex));
        }
        finally
        {
            registrations.ForEach(r => r.Dispose());
        }
    }

    private async Task StoreAloneAsync(Request request)
    {
        try
        {
            request.Stored.TrySetResult((await store.StoreAsync([request.Part], request.OnStall, request.CancellationToken))[0]);
        }
        catch (Exception ex)
        {
            request.Stored.TrySetException(ex);
        }
    }

    private sealed record Request(BatchPart Part, Action? OnStall, CancellationToken CancellationToken, long Queued)
    {
        public TaskCompletionSource<StoredBatch> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
