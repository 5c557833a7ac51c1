using Ingest.Api.Limits;
using Ingest.Contracts.Chunking;

namespace Ingest.Api.Payloads;

/// <summary>Limits of the HTTP API, bound from the <c>Api</c> configuration section.</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Largest payload accepted, counted after undoing <c>Content-Encoding</c>. Default 100 MiB (Ingest.Contracts/CONTRACT.md).</summary>
    public long MaxPayloadBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// How long Kafka may take to acknowledge a payload before the API answers 503; it becomes
    /// librdkafka's <c>message.timeout.ms</c>. Default 30 s.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Seconds sent in <c>Retry-After</c> with a 429 or 503. Default 5.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>
    /// Decoded bytes per Kafka message of a payload. Default <see cref="PayloadChunking.DefaultChunkBytes"/> (256 KiB):
    /// large enough that LZ4 and per-message overhead stay small, well below Kafka's 1 MB message limit.
    /// </summary>
    public int ChunkBytes { get; set; } = PayloadChunking.DefaultChunkBytes;

    /// <summary>
    /// Chunks of one upload produced and not yet acknowledged at a time. Default 4: enough to keep a
    /// replicated round trip off the critical path, few enough that an upload holds about 5 chunks
    /// (these and the one being read), 1.25 MiB at the default chunk size.
    /// </summary>
    public int ChunksInFlight { get; set; } = 4;

    /// <summary>
    /// Decoded bytes read from clients and not yet acknowledged by Kafka, across all requests; a new request
    /// arriving when it is spent gets 429. Default 256 MiB: on the 2-core, 23 GiB machines this runs on
    /// (measured on the 2-core development machines) it is ~200 uploads' worth of chunk pipelines and about a second of what LZ4 can encode,
    /// so it only binds when Kafka stops acknowledging. librdkafka's queue (<c>queue.buffering.max.kbytes</c>) is sized to it.
    /// </summary>
    public long InFlightBudgetBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long an upload already in progress waits for budget before it is answered 503. Default 30 s.</summary>
    public TimeSpan BudgetWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a stopping API lets in-flight uploads finish before it aborts them and flushes the producer.
    /// Default 30 s, inside compose's 45 s <c>stop_grace_period</c> with room for the flush.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Share of what the payload topic keeps per partition by size (<c>retention.bytes</c>; on a broker that cannot
    /// describe its configs, the embedded broker's 5 MiB and 100,000 batches) that payloads accepted but not yet
    /// committed by <see cref="WorkerGroupId"/> may fill; beyond it new payloads for that partition's sessions get 503
    /// and uploads in progress wait. Default 0.6: the rest absorbs what other API replicas produce between two looks
    /// and the estimate of their message sizes.
    /// </summary>
    public double BacklogShare { get; set; } = 0.6;

    /// <summary>
    /// Bytes the payload topic keeps per partition, when the broker's <c>retention.bytes</c> should not be asked (or
    /// cannot be: no DescribeConfigs right). Unset by default: read from the topic every minute.
    /// </summary>
    public long? RetainedBytesPerPartition { get; set; }

    /// <summary>
    /// How long a new payload waits for room in its partition's backlog before 503 <c>backlog-full</c>. Default 5 s: long
    /// enough to take turns with a large upload being paced there, short enough not to hold connections through an
    /// outage — and once a partition has had no room that long, new payloads for it are refused before their body is read.
    /// </summary>
    public TimeSpan BacklogAdmitTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a chunk of an upload in progress waits for room in its partition's backlog before 503. Default 60 s.</summary>
    public TimeSpan BacklogWaitTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the worker group's committed offsets are read while the guard is on and nobody waits. Default 1 s.</summary>
    public TimeSpan BacklogRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The workers' consumer group (<c>Worker:GroupId</c> of the workers): its committed offsets are what the backlog
    /// guard and the status page count as stored. Default <c>ingest-worker</c>.
    /// </summary>
    public string WorkerGroupId { get; set; } = "ingest-worker";

    /// <summary>
    /// An upload whose client sends nothing for this long while the API waits for its bytes is answered 408
    /// <c>upload-idle</c> and its budget returned. Counted from each read the API starts (so from the last bytes
    /// received, not an average rate); time the API itself does not read — waiting for budget, Kafka or the backlog
    /// guard — does not count. Default 5 s: a connected client sends its next bytes within a round trip or two; a
    /// lossy mobile link retransmits within a few seconds.
    /// </summary>
    public TimeSpan UploadIdleTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the API loads every erasure tombstone again (it also listens for new ones, which reach it within about a
    /// second): the longest another replica's erasure can go unseen here if a notification is lost. Default 30 s. Posts
    /// accepted meanwhile are dropped by the workers, never stored.
    /// </summary>
    public TimeSpan ErasureRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Limits every project gets unless <c>Ingest:Projects:{p}:Limits</c> says otherwise: 256 uploads at once (the
    /// benchmark's highest concurrency), no request or byte rate limit, and no <c>BudgetShare</c>: each project then
    /// gets 1 / the number of projects of the in-flight budget, at least a quarter (<see cref="Backpressure.InFlightBudget.DefaultShare"/>).
    /// </summary>
    public UploadLimitOptions ProjectLimits { get; set; } = new()
    {
        MaxConcurrentUploads = 256,
        RequestsPerSecond = 0,
        BytesPerSecond = 0,
    };
}
