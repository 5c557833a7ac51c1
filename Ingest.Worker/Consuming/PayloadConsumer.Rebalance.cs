using Confluent.Kafka;

namespace Ingest.Worker.Consuming;

/// <summary>Lanes coming and going — rebalance handlers, shutdown — and commits: all on the poll thread.</summary>
internal sealed partial class PayloadConsumer
{
    private void OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        var owner = new ConsumerLaneOwner(consumer, OnLaneFault);
        foreach (var partition in partitions)
        {
            var lane = new PartitionLane(partition, _options, _processor.ProcessAsync, owner, _logger);
            _lanes[partition] = lane;
            lane.Start();
        }

        UpdateAssignment();
        _member = true;
        Log.Assigned(_logger, string.Join(",", partitions.Select(p => p.Partition.Value)), _lanes.Count);
        if (partitions.Count > 0)
        {
            _timeline.Mark(Startup.StartupPhase.PartitionsAssigned);
        }
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        var lanes = Take(partitions.Select(p => p.TopicPartition));
        Log.Revoked(_logger, string.Join(",", partitions.Select(p => p.Partition.Value)), lanes.Count);
        foreach (var lane in lanes)
        {
            lane.ReleasePause();
        }

        DrainAndCommit(consumer, lanes, _stopping ? _options.ShutdownDrainTimeout : _options.RevokeDrainTimeout);
        UpdateAssignment();
    }

    private void OnLost(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // Someone else may own them already: stop at once and commit nothing (it would be rejected or wrong).
        var lanes = Take(partitions.Select(p => p.TopicPartition));
        foreach (var lane in lanes)
        {
            lane.Abort();
            _telemetry.RemoveLag(lane.Partition.Topic, lane.Partition.Partition.Value);
        }

        _member = false;
        UpdateAssignment();
        Log.Lost(_logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void ShutDown(IConsumer<byte[]?, byte[]?> consumer)
    {
        _stopping = true;
        _member = false;
        var lanes = _lanes.Values.ToList();
        _lanes.Clear();
        Log.ShuttingDown(_logger, lanes.Count);
        DrainAndCommit(consumer, lanes, _options.ShutdownDrainTimeout);
        UpdateAssignment();
        try
        {
            consumer.Close(); // leaves the group now, so the partitions move without waiting for the session timeout
        }
        catch (KafkaException ex)
        {
            Log.CloseFailed(_logger, ex);
        }

        Log.Stopped(_logger);
    }

    private List<PartitionLane> Take(IEnumerable<TopicPartition> partitions)
    {
        var lanes = new List<PartitionLane>();
        foreach (var partition in partitions)
        {
            if (_lanes.Remove(partition, out var lane))
            {
                lanes.Add(lane);
            }
        }

        return lanes;
    }

    /// <summary>Lets the lanes finish their queued work (up to <paramref name="timeout"/>), then commits what finished.</summary>
    private void DrainAndCommit(IConsumer<byte[]?, byte[]?> consumer, List<PartitionLane> lanes, TimeSpan timeout)
    {
        if (lanes.Count == 0)
        {
            return;
        }

        var started = _timeProvider.GetTimestamp();
        var completions = lanes.Select(l => l.DrainAsync()).ToArray();
        if (!Task.WaitAll(completions, timeout))
        {
            // What is still running is cancelled and not committed; the next owner redelivers it (idempotent).
            Log.DrainTimedOut(_logger, timeout, lanes.Count(l => !l.Completion.IsCompleted));
            foreach (var lane in lanes)
            {
                lane.Abort();
            }

            Task.WaitAll(completions, TimeSpan.FromSeconds(5));
        }

        Commit(consumer, lanes);
        foreach (var lane in lanes)
        {
            _telemetry.RemoveLag(lane.Partition.Topic, lane.Partition.Partition.Value);
        }

        Log.Drained(_logger, lanes.Count, _timeProvider.GetElapsedTime(started));
    }

    private void Commit(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyCollection<PartitionLane> lanes)
    {
        var pending = new List<(PartitionLane Lane, long Next)>();
        foreach (var lane in lanes)
        {
            if (lane.Offsets.TryGetCommit(out var next))
            {
                pending.Add((lane, next));
            }
        }

        if (pending.Count == 0)
        {
            return;
        }

        var started = _timeProvider.GetTimestamp();
        var committed = false;
        try
        {
            consumer.Commit(pending.Select(p => new TopicPartitionOffset(p.Lane.Partition, new Offset(p.Next))));
            committed = true;
            foreach (var (lane, next) in pending)
            {
                lane.Offsets.MarkCommitted(next);
            }

            Log.Committed(_logger, string.Join(",", pending.Select(p => $"{p.Lane.Partition.Partition.Value}@{p.Next}")));
        }
        catch (TopicPartitionOffsetException ex)
        {
            foreach (var result in ex.Results.Where(r => !r.Error.IsError))
            {
                pending.Find(p => p.Lane.Partition == result.TopicPartition).Lane?.Offsets.MarkCommitted(result.Offset.Value);
            }

            Log.CommitFailed(_logger, ex.Message);
        }
        catch (KafkaException ex)
        {
            Log.CommitFailed(_logger, ex.Message); // retried at the next interval; nothing is lost, only redelivered
        }
        finally
        {
            _telemetry.CommitCompleted(pending[0].Lane.Partition.Topic, committed, _timeProvider.GetElapsedTime(started));
        }
    }

    private void UpdateLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        foreach (var partition in _lanes.Keys)
        {
            try
            {
                var high = consumer.GetWatermarkOffsets(partition).High;
                var position = consumer.Position(partition);
                if (high != Offset.Unset && position != Offset.Unset)
                {
                    _telemetry.SetLag(partition.Topic, partition.Partition.Value, Math.Max(0, high.Value - position.Value));
                }
            }
            catch (KafkaException)
            {
                // Not known yet (no fetch response so far); the next interval tries again.
            }
        }
    }

    private void UpdateAssignment() => _assignment = [.. _lanes.Keys.OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition.Value)];

    private void OnLaneFault(TopicPartition partition, Exception exception)
    {
        // A lane fails only through a bug; its partition would stall silently, so stop loudly instead.
        Log.LaneFaulted(_logger, partition.Topic, partition.Partition.Value, exception);
        _lifetime.StopApplication();
    }
}
