-- A status's details change block by block (1,000 seqs, store/statuses.ts DETAIL_BLOCK): as the
-- chunks of a queued request settle, and when a note is added to a message. Each block that
-- changed holds a version here, raised by the statement that changed it; a status poll compares
-- versions to find the blocks it must read again, where it counted every detail of the status
-- (25,000 rows for the 40 MB bundle, at each poll). A block without a row never changed.
CREATE TABLE status_blocks (
  status_id uuid NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  k         integer NOT NULL,
  version   integer NOT NULL,
  PRIMARY KEY (status_id, k)
);
