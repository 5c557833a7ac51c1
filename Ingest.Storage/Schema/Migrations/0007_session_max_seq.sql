-- The highest seq of any row stored for a session (NULL: none). A payload whose seq is above it cannot have been stored,
-- so the writer inserts it without looking for an earlier copy; the look-up ((project, session_id, seq) is unique only by
-- it, the table being partitioned by expiry) is left to redeliveries, client retries and out-of-order seqs. The look-up
-- costs a plan per row, and under stale statistics (a new partition, a new project) the planner may answer it with an
-- index that makes it read every row the project has in the partition.
--
-- A statement trigger keeps it, so every writer does — this version's, an older worker still running during an upgrade
-- (which knows nothing of the column), the ops tools — in the transaction that stores the rows, under the session row's
-- lock the writer holds.
ALTER TABLE ingest.sessions ADD COLUMN max_seq bigint;

CREATE FUNCTION ingest.track_max_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ingest.sessions s SET max_seq = n.max_seq
    FROM (SELECT project, session_id, max(seq) AS max_seq FROM inserted GROUP BY project, session_id) n
    WHERE s.project = n.project AND s.session_id = n.session_id AND (s.max_seq IS NULL OR s.max_seq < n.max_seq);
    RETURN NULL;
END
$$;

CREATE TRIGGER payloads_track_max_seq AFTER INSERT ON ingest.payloads
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ingest.track_max_seq();

UPDATE ingest.sessions s
SET max_seq = (SELECT max(p.seq) FROM ingest.payloads p WHERE p.project = s.project AND p.session_id = s.session_id);
