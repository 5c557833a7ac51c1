-- Uploads the API gave up part-way and said so with an abort marker (PayloadChunking): their staged chunks are
-- deleted when the marker is read, and the pending_uploads row stays, marked aborted, as a tombstone — so that a
-- redelivery of the upload's chunks (a rebalance before the marker's offset was committed) is recognised as one,
-- not staged again nor taken for a gap. The abandonment sweep removes the tombstone with the others.
ALTER TABLE ingest.pending_uploads ADD COLUMN aborted boolean NOT NULL DEFAULT false;
