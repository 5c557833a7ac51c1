namespace Ingest.Worker.Consuming;

/// <summary>Worker settings, bound from the <c>Worker</c> configuration section.</summary>
public sealed class WorkerOptions
{
    /// <summary>Configuration section the options are bound from.</summary>
    public const string Section = "Worker";

    /// <summary>Kafka consumer group shared by all workers (<c>Worker:GroupId</c>). Default <c>ingest-worker</c>.</summary>
    public string GroupId { get; set; } = "ingest-worker";

    /// <summary>
    /// Most messages written in one transaction (<c>Worker:MaxBatchMessages</c>). Default 200: a
    /// 100-statement NpgsqlBatch already amortises the commit's fsync (measured on the 2-core development machines), more only adds latency.
    /// </summary>
    public int MaxBatchMessages { get; set; } = 200;

    /// <summary>
    /// Most message bytes in one batch (<c>Worker:MaxBatchBytes</c>); one larger message still goes alone.
    /// Default 8 MiB.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Most transactions storing batches at once (<c>Worker:MaxConcurrentTransactions</c>). Each takes every partition's
    /// batch waiting when it starts, so under load many partitions share one commit (one transaction per partition stored
    /// the bench's 48 partitions of 10 KB payloads ~7 messages at a time). Default 2: on the 2-core development machine
    /// (workers and Postgres on the same cores) 2 stored 10 KB payloads at 0.63 of raw binary COPY, 4 at 0.53 and 8 at 0.49;
    /// raise it when Postgres has cores to spare.
    /// </summary>
    public int MaxConcurrentTransactions { get; set; } = 2;

    /// <summary>Most messages one shared transaction takes, over all its partitions' batches (<c>Worker:MaxTransactionMessages</c>). Default 2,000.</summary>
    public int MaxTransactionMessages { get; set; } = 2_000;

    /// <summary>
    /// Most message bytes one shared transaction takes (<c>Worker:MaxTransactionBytes</c>); one larger batch still goes
    /// alone. Default 32 MiB.
    /// </summary>
    public int MaxTransactionBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>
    /// Messages queued per partition before the partition is paused (<c>Worker:LaneCapacity</c>).
    /// Default 500 (2.5 full batches), so a lane always has the next batch ready.
    /// </summary>
    public int LaneCapacity { get; set; } = 500;

    /// <summary>
    /// Message bytes queued per partition before the partition is paused (<c>Worker:LaneCapacityBytes</c>);
    /// one message larger than this still goes alone. Default 16 MiB: with librdkafka's own prefetch
    /// (<c>queued.max.messages.kbytes</c>, 64 MiB for all partitions by default, <see cref="KafkaOptions.PrefetchKilobytes"/>) it bounds the worker's memory per
    /// partition however long the database is away.
    /// </summary>
    public int LaneCapacityBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// How often finished offsets are committed (<c>Worker:CommitInterval</c>). Default 200 ms: the API's backlog guard
    /// counts committed offsets, so room in a partition comes back one interval after its rows are stored (a 100 MiB
    /// upload on the 5 MiB embedded broker took 41 s at 1 s and 21 s at 200 ms); at most five commits a second per
    /// worker, and only while it stores something, cost the group coordinator nothing measurable. It also bounds what a
    /// SIGKILLed worker's successor stores twice (as redeliveries, harmless).
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a revoked partition's lane may finish its queued work before it is cancelled
    /// (<c>Worker:RevokeDrainTimeout</c>). Default 10 s; the partition's next owner waits this long at most.
    /// </summary>
    public TimeSpan RevokeDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long lanes may finish their queued work on shutdown (<c>Worker:ShutdownDrainTimeout</c>).
    /// Default 20 s; the host's shutdown timeout is raised to leave room for it.
    /// </summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Log time after which a chunked upload without its last chunk is discarded
    /// (<c>Worker:AbandonedUploadAfter</c>): when a later message of the same partition is this far past the
    /// upload's latest chunk. Default 15 min. Measured in message timestamps, never wall-clock time, so a
    /// worker that was paused or is catching up never discards an accepted payload.
    /// </summary>
    public TimeSpan AbandonedUploadAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How many times a payload the database refuses (SQLSTATE class 22/23) is tried, alone, before it is
    /// dead-lettered (<c>Worker:PoisonAttempts</c>). Default 3. Data errors rarely heal, so the attempts are
    /// immediate; a database that is away is a transient error and is retried without bound instead.
    /// </summary>
    public int PoisonAttempts { get; set; } = 3;
}
