using Confluent.Kafka;
using Ingest.Hosting.Kafka;
using Ingest.Worker.Startup;
using Ingest.Worker.Telemetry;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Consuming;

/// <summary>
/// The consume loop: one Kafka consumer per process, one <see cref="PartitionLane"/> per assigned
/// partition. Everything that touches the consumer (Consume, Pause, Resume, Commit and the rebalance
/// handlers, which librdkafka calls from inside Consume) runs on the poll thread; lanes only report
/// finished offsets, and the poll thread commits the contiguous prefix of them.
/// </summary>
internal sealed partial class PayloadConsumer
{
    // Short enough that commits happen promptly while the topic is idle.
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);

    // While a partition is paused, its lane frees room at database speed: look again soon.
    private static readonly TimeSpan PausedPollTimeout = TimeSpan.FromMilliseconds(5);

    // A KIP-848 broker refuses a static member (group.instance.id) restarted after a crash with
    // UNRELEASED_INSTANCE_ID until the crashed instance's session expires (it never sent its leave), and
    // librdkafka makes that fatal to the consumer. Waiting with a new consumer rejoins as soon as the broker
    // lets go; exiting instead would crash-loop under an orchestrator for the whole session timeout and more.
    private static readonly TimeSpan UnreleasedInstanceRetry = TimeSpan.FromSeconds(1);

    private readonly Dictionary<TopicPartition, PartitionLane> _lanes = [];
    private readonly WorkerOptions _options;
    private readonly KafkaOptions _kafka;
    private readonly BatchProcessor _processor;
    private readonly WorkerTelemetry _telemetry;
    private readonly KafkaClientLog _clientLog;
    private readonly StartupTimeline _timeline;
    private readonly TimeProvider _timeProvider;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<PayloadConsumer> _logger;
    private volatile TopicPartition[] _assignment = [];
    private volatile bool _member;
    private Error? _fatal;
    private bool _stopping;

    public PayloadConsumer(
        IOptions<WorkerOptions> options,
        IOptions<KafkaOptions> kafka,
        BatchProcessor processor,
        WorkerTelemetry telemetry,
        KafkaClientLog clientLog,
        StartupTimeline timeline,
        TimeProvider timeProvider,
        IHostApplicationLifetime lifetime,
        ILogger<PayloadConsumer> logger)
    {
        _options = options.Value;
        _kafka = kafka.Value;
        _processor = processor;
        _telemetry = telemetry;
        _clientLog = clientLog;
        _timeline = timeline;
        _timeProvider = timeProvider;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <summary>Partitions this worker owns right now (a snapshot; for tests and diagnostics).</summary>
    public IReadOnlyList<TopicPartition> Assignment => _assignment;

    /// <summary>
    /// True once the consumer has completed a join (its first assignment, possibly empty: a group with more members than
    /// partitions leaves some with none) and until it loses its membership, stops, or its consumer fails.
    /// </summary>
    public bool IsGroupMember => _member;

    /// <summary>
    /// True with <c>Kafka:group.protocol=consumer</c> (KIP-848). There librdkafka calls the assignment handler only when
    /// partitions change hands, never with an empty assignment: a member holding none cannot be told from one still
    /// joining, and <see cref="IsGroupMember"/> becomes true only once it gets partitions.
    /// </summary>
    public bool UsesConsumerGroupProtocol => _kafka.UsesConsumerGroupProtocol;

    /// <summary>
    /// Builds the consumer without subscribing: the client connects and finds the group coordinator, but joins the
    /// group only in <see cref="Run"/>. Built while the start-up checks run, so a restarted worker joins at once after.
    /// </summary>
    public IConsumer<byte[]?, byte[]?> Build()
    {
        var config = _kafka.BuildConsumerConfig(_options.GroupId);
        return new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler(OnLost)
            .SetErrorHandler(OnError)
            .SetLogHandler((_, message) => OnLog(message))
            .SetStatisticsHandler((_, json) => _clientLog.Statistics(config.ClientId ?? "consumer", json))
            .Build();
    }

    /// <summary>
    /// Subscribes <paramref name="consumer"/> (from <see cref="Build"/>; this takes it over) and consumes until
    /// <paramref name="stoppingToken"/> is cancelled, then drains, commits and leaves the group.
    /// </summary>
    public void Run(IConsumer<byte[]?, byte[]?> consumer, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                RunConsumer(consumer, stoppingToken);
                return;
            }
            catch (KafkaException ex) when (ex.Error.Code == ErrorCode.UnreleasedInstanceId && !stoppingToken.IsCancellationRequested)
            {
                Log.InstanceIdUnreleased(_logger, _kafka.Settings.GetValueOrDefault("group.instance.id") ?? "", UnreleasedInstanceRetry);
                _fatal = null;
                stoppingToken.WaitHandle.WaitOne(UnreleasedInstanceRetry);
                consumer = Build(); // the fenced one can do nothing more
            }
        }
    }

    private void RunConsumer(IConsumer<byte[]?, byte[]?> consumer, CancellationToken stoppingToken)
    {
        using var owned = consumer;
        consumer.Subscribe(_kafka.Topic);
        Log.Subscribed(_logger, _kafka.Topic, _options.GroupId);
        _timeline.Mark(StartupPhase.Subscribed);

        try
        {
            Poll(consumer, stoppingToken);
        }
        catch
        {
            foreach (var lane in _lanes.Values)
            {
                lane.Abort();
            }

            _lanes.Clear();
            _member = false;
            UpdateAssignment(); // Run may go on with a new consumer
            throw;
        }

        ShutDown(consumer);
    }

    private void Poll(IConsumer<byte[]?, byte[]?> consumer, CancellationToken stoppingToken)
    {
        var lastCommit = _timeProvider.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_fatal is { } fatal)
            {
                throw new KafkaException(fatal);
            }

            var paused = UpdatePauses();
            if (_timeProvider.GetElapsedTime(lastCommit) >= _options.CommitInterval)
            {
                Commit(consumer, [.. _lanes.Values]);
                UpdateLag(consumer);
                lastCommit = _timeProvider.GetTimestamp();
            }

            ConsumeResult<byte[]?, byte[]?>? result;
            try
            {
                result = consumer.Consume(paused ? PausedPollTimeout : PollTimeout);
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                Log.ConsumeError(_logger, ex.Error.Code.ToString(), ex.Error.Reason);
                continue;
            }

            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            if (!_lanes.TryGetValue(result.TopicPartition, out var lane))
            {
                Log.NoLane(_logger, result.Topic, result.Partition.Value, result.Offset.Value);
                continue;
            }

            if (result.Message.Timestamp.Type != TimestampType.NotAvailable)
            {
                _telemetry.Fetched(result.Topic, _timeProvider.GetUtcNow() - result.Message.Timestamp.UtcDateTime);
            }

            lane.Offer(result);
        }
    }

    /// <summary>
    /// Lets each lane pause or resume its partition (see <see cref="PartitionLane.UpdatePause"/>); true while any is
    /// paused only for room (it frees up at database speed: poll soon).
    /// </summary>
    private bool UpdatePauses()
    {
        foreach (var lane in _lanes.Values)
        {
            lane.UpdatePause();
        }

        _telemetry.SetPausedPartitions(_kafka.Topic, _lanes.Values.Count(l => l.Paused));
        return _lanes.Values.Any(l => l.WaitingForRoom);
    }

    private void OnError(IConsumer<byte[]?, byte[]?> consumer, Error error)
    {
        _clientLog.Error(_options.GroupId, error);
        if (error.IsFatal)
        {
            _fatal = error; // e.g. fenced static member: this consumer can do nothing more
        }
    }

    /// <summary>
    /// On librdkafka's thread: an offset reset because the committed position is no longer on the broker
    /// (retention deleted it) skips accepted payloads — data loss, counted and logged as an error, never silent.
    /// </summary>
    private void OnLog(LogMessage message)
    {
        if (message.Facility == "OFFSET" && message.Message.Contains("out of range", StringComparison.OrdinalIgnoreCase))
        {
            _telemetry.DataLoss(_kafka.Topic, "offset_out_of_range");
            message = new LogMessage(message.Name, SyslogLevel.Error, message.Facility, $"DATA LOSS (offset out of range): {message.Message}");
        }

        _clientLog.Log(message);
    }
}
