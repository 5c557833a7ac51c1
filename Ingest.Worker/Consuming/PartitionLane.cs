using Confluent.Kafka;

namespace Ingest.Worker.Consuming;

/// <summary>
/// One assigned partition's work: a bounded <see cref="LaneQueue"/> drained by one task, so a partition's
/// messages are processed serially (session order) while partitions run in parallel. The lane owns its
/// partition's pause state: when the queue is full — by message count or by bytes — it holds further messages
/// and asks its <see cref="ILaneOwner"/> to pause the partition (memory stays bounded); while the database is
/// unavailable it is <see cref="Stalled"/> and pauses too, and it resumes once it has room and a database that
/// answers. Everything except the processing task and <see cref="Stalled"/> is used on the poll thread only.
/// </summary>
internal sealed class PartitionLane
{
    private readonly LaneQueue _queue;
    // Never disposed: Abort may race with the task ending, and a CTS without a timer holds nothing native.
    private readonly CancellationTokenSource _abort = new();
    private readonly Func<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>, Action, CancellationToken, Task> _process;
    private readonly ILaneOwner _owner;
    private readonly ILogger _logger;
    private Task? _run;
    private volatile bool _stalled;

    /// <summary>A lane for <paramref name="partition"/>; it processes nothing until <see cref="Start"/>.</summary>
    public PartitionLane(
        TopicPartition partition,
        WorkerOptions options,
        Func<IReadOnlyList<ConsumeResult<byte[]?, byte[]?>>, Action, CancellationToken, Task> process,
        ILaneOwner owner,
        ILogger logger)
    {
        Partition = partition;
        _queue = new LaneQueue(options);
        _process = process;
        _owner = owner;
        _logger = logger;
    }

    public TopicPartition Partition { get; }

    public OffsetTracker Offsets { get; } = new();

    /// <summary>Whether the lane has its partition paused (poll thread only).</summary>
    public bool Paused { get; private set; }

    /// <summary>Paused only for room, which frees up at database speed (the poll thread looks again soon).</summary>
    public bool WaitingForRoom => Paused && !Stalled;

    /// <summary>True while the lane's current batch waits for the database (a transient error is being retried).</summary>
    public bool Stalled => _stalled;

    /// <summary>Message bytes queued in the lane or being processed (not counting held ones).</summary>
    public long QueuedBytes => _queue.QueuedBytes;

    /// <summary>Completes when the processing task has ended (at once if it never started); never faults.</summary>
    public Task Completion => _run ?? Task.CompletedTask;

    /// <summary>Starts the processing task.</summary>
    public void Start()
    {
        if (_run is not null)
        {
            throw new InvalidOperationException($"The lane of {Partition} has started already.");
        }

        _run = Task.Run(RunAsync);
    }

    /// <summary>Stops feeding the lane; it finishes what is queued, and the task returned (<see cref="Completion"/>) completes.</summary>
    public Task DrainAsync()
    {
        _queue.Complete();
        return Completion;
    }

    /// <summary>Cancels the work in progress and drops what is queued.</summary>
    public void Abort()
    {
        _queue.Complete();
        _abort.Cancel();
    }

    /// <summary>Queues a message; one that must be held (the lane is full) pauses the partition until there is room.</summary>
    public void Offer(ConsumeResult<byte[]?, byte[]?> message)
    {
        if (message.Offset.Value <= Offsets.LastDispatched)
        {
            return; // a re-fetch of something already in flight here; it is (being) stored
        }

        Offsets.Dispatched(message.Offset.Value);
        if (!_queue.Enqueue(message) && !Paused)
        {
            // Stop fetching this partition until the lane has room (bounded memory).
            _owner.Pause(Partition);
            Paused = true;
            Log.Paused(_logger, Partition.Topic, Partition.Partition.Value);
        }
    }

    /// <summary>
    /// Pauses the partition while the lane waits for the database (nothing new is fetched or committed); resumes it
    /// once held messages fit and the database answers. Called by the poll thread before each poll.
    /// </summary>
    public void UpdatePause()
    {
        if (Stalled)
        {
            if (!Paused)
            {
                _owner.Pause(Partition);
                Paused = true;
                Log.PausedForDatabase(_logger, Partition.Topic, Partition.Partition.Value);
            }
        }
        else if (Paused && _queue.TryReleaseHeld())
        {
            _owner.Resume(Partition);
            Paused = false;
            Log.Resumed(_logger, Partition.Topic, Partition.Partition.Value);
        }
    }

    /// <summary>Resumes a paused partition being given up, so no pause is left behind on one this worker may get back.</summary>
    public void ReleasePause()
    {
        if (!Paused)
        {
            return;
        }

        try
        {
            _owner.Resume(Partition);
            Paused = false;
        }
        catch (KafkaException ex)
        {
            Log.ResumeFailed(_logger, Partition.Partition.Value, ex.Message);
        }
    }

    private async Task RunAsync()
    {
        var token = _abort.Token;
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>();
        try
        {
            while (await _queue.TakeBatchAsync(batch, token))
            {
                await _process(batch, () => _stalled = true, token);
                _stalled = false;
                foreach (var message in batch)
                {
                    Offsets.Finished(message.Offset.Value);
                }

                _queue.Processed(batch);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Aborted (partition lost, or a drain timed out): what is not finished is not committed.
        }
        catch (Exception ex)
        {
            _owner.LaneFaulted(Partition, ex);
        }
    }
}
