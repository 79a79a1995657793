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

-- Where an object version entered the federation, and that node's detached JWS over its
-- canonical JSON (RFC 8785), passed on unchanged by every relay. objects.origin keeps which
-- peer this node received it from (NULL: submitted here).
ALTER TABLE objects
  ADD COLUMN origin_node      text,
  ADD COLUMN origin_signature text;
