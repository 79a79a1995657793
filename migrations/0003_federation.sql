-- Federation: a peer node is a client of kind 'peer' with its node id, base URL and the public
-- keys pinned for it (exchanged out of band), and the request-proof ids seen, against replays.

ALTER TABLE clients
  ADD COLUMN node_id     text UNIQUE,
  ADD COLUMN base_url    text,
  ADD COLUMN pinned_keys jsonb NOT NULL DEFAULT '[]';

CREATE TABLE request_nonces (
  jti     text PRIMARY KEY,
  expires timestamptz NOT NULL
);
CREATE INDEX request_nonces_by_expiry ON request_nonces (expires);
