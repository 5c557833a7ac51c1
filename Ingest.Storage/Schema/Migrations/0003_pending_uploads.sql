-- Chunked uploads whose last chunk is not staged yet: where the next chunk must continue (index and
-- running decoded length) and the log time of the latest chunk. An upload abandoned mid-way is
-- discarded when a later message of its partition is Worker:AbandonedUploadAfter past that log time
-- (never by wall-clock time: a worker catching up after an outage must not discard accepted uploads).
CREATE TABLE ingest.pending_uploads (
    payload_id      uuid        PRIMARY KEY,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    next_chunk      integer     NOT NULL,
    length          bigint      NOT NULL,   -- decoded bytes staged so far
    last_log_time   timestamptz NOT NULL,
    -- Failed verification and sent to the DLQ as a reference: kept (with its chunks) for an operator.
    dead_lettered   boolean     NOT NULL DEFAULT false
);

CREATE INDEX pending_uploads_by_log_time ON ingest.pending_uploads (topic, kafka_partition, last_log_time)
    WHERE NOT dead_lettered;
