-- Chunked payloads (PayloadChunking): chunks are staged by (payload_id, chunk_index) as they arrive,
-- tolerating duplicates; the payloads row is written once the last chunk is staged and verified.
-- A payloads row with chunk_count = 1 keeps its single encoded block in body; one with
-- chunk_count > 1 has body NULL and its blocks in payload_chunks under the row's payload_id.
CREATE TABLE ingest.payload_chunks (
    payload_id      uuid        NOT NULL,
    chunk_index     integer     NOT NULL,
    length          integer     NOT NULL,   -- decoded bytes of this chunk
    body            bytea       NOT NULL,   -- PayloadCodec block of this chunk
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    staged_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (payload_id, chunk_index)
);

ALTER TABLE ingest.payload_chunks ALTER COLUMN body SET STORAGE EXTERNAL;

ALTER TABLE ingest.payloads ADD COLUMN chunk_count integer NOT NULL DEFAULT 1;
ALTER TABLE ingest.payloads ALTER COLUMN body DROP NOT NULL;
ALTER TABLE ingest.payloads ADD CONSTRAINT payloads_body_or_chunks
    CHECK ((chunk_count = 1 AND body IS NOT NULL) OR (chunk_count > 1 AND body IS NULL));
