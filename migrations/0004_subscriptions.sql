-- The puller: subscriptions to a peer's collections, the receipts of what arrived, and the
-- versions quarantined because a peer sent other content under a version already held here.

CREATE TABLE subscriptions (
  id                   uuid PRIMARY KEY,
  -- A client of kind 'peer' with node_id, base_url and pinned_keys.
  peer_id              uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  remote_api_root      text NOT NULL,
  remote_collection_id text NOT NULL,
  collection_id        uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  interval_seconds     integer NOT NULL CHECK (interval_seconds > 0),
  -- The X-TAXII-Date-Added-Last of the last page stored: the next pull's added_after.
  cursor               text,
  -- Who pulls now, until when: one replica per subscription; another takes over when it dies.
  lease_owner          uuid,
  lease_until          timestamptz NOT NULL DEFAULT '-infinity',
  next_attempt         timestamptz NOT NULL DEFAULT now(),
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_success         timestamptz,
  last_error           text,
  last_pulled_count    integer NOT NULL DEFAULT 0,
  created              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (peer_id, remote_api_root, remote_collection_id, collection_id)
);
CREATE INDEX subscriptions_due ON subscriptions (next_attempt);

-- Per stored page: the served node's signature over the exact body, kept as proof of receipt.
CREATE TABLE receipts (
  seq             bigserial PRIMARY KEY,
  subscription_id uuid REFERENCES subscriptions (id) ON DELETE SET NULL,
  peer            text NOT NULL,
  signature       text NOT NULL,
  body_digest     text NOT NULL,
  object_count    integer NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_by_subscription ON receipts (subscription_id, seq);

-- A received version whose (id, version) is held here with other content: never overwritten.
CREATE TABLE quarantine (
  seq              bigserial PRIMARY KEY,
  subscription_id  uuid REFERENCES subscriptions (id) ON DELETE SET NULL,
  collection_id    uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  peer             text NOT NULL,
  id               text NOT NULL,
  version          text,
  object           jsonb NOT NULL,
  origin_node      text,
  origin_signature text,
  received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_by_subscription ON quarantine (subscription_id);
CREATE INDEX quarantine_by_object ON quarantine (collection_id, id);

-- Whether this node checked a version's origin signature (true; also for what it signed itself)
-- or stored it unchecked because it knows no key of the origin node (false: no trust list).
ALTER TABLE objects ADD COLUMN origin_verified boolean;
