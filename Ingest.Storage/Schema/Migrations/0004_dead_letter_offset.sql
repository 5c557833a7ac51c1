-- A dead-lettered upload remembers which message was dead-lettered and why: the mark commits before the
-- letter reaches the DLQ, so when that message is redelivered (a crash or rebalance before its offset was
-- committed) its letter is sent again instead of the message being absorbed as a redelivery.
ALTER TABLE ingest.pending_uploads ADD COLUMN dead_letter_offset bigint;
ALTER TABLE ingest.pending_uploads ADD COLUMN dead_letter_error text;
