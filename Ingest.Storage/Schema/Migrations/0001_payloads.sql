-- Stored payloads: one row per (project, session, seq); the first one stored wins.
CREATE SCHEMA IF NOT EXISTS ingest;

CREATE TABLE ingest.payloads (
    project         text        NOT NULL,
    session_id      text        NOT NULL,
    seq             bigint      NOT NULL,
    -- Applied order: the worker inserts one partition's payloads serially, so within a session
    -- position increases in the order the payloads were accepted.
    position        bigint      GENERATED ALWAYS AS IDENTITY,
    payload_id      uuid        NOT NULL,
    content_type    text        NOT NULL,
    length          bigint      NOT NULL,
    -- XxHash3-64 of the decoded bytes (stored as signed bigint), to tell a conflicting duplicate.
    checksum        bigint      NOT NULL,
    encoding        text        NOT NULL,
    body            bytea       NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    received_at     timestamptz NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, session_id, seq)
);

-- The body is already LZ4: pglz would try, fail and store it raw at 2.3-4.8x the cost (measured on the 2-core development machines).
ALTER TABLE ingest.payloads ALTER COLUMN body SET STORAGE EXTERNAL;

CREATE UNIQUE INDEX payloads_session_position ON ingest.payloads (project, session_id, position);
