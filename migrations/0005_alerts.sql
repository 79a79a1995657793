-- Early warning: clients' alert subscriptions, the outbox every ingest writes in its own
-- transaction, and the alerts matched from it (delivered by webhook, streamed by SSE).

CREATE TABLE alert_subscriptions (
  id              uuid PRIMARY KEY,
  -- The client whose rights (grants, clearance, RED lists) every alert is read with.
  client_id       uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  name            text NOT NULL,
  collection_ids  uuid[] NOT NULL,
  -- types, labels, min_confidence, observable_types, cpe_prefixes, pap (see src/alerts/filter.ts).
  filter          jsonb NOT NULL,
  -- NULL: the stream only.
  webhook_url     text,
  -- 'objects': the matched objects in the alert; 'ids': their ids and a TAXII URL to fetch them.
  payload         text NOT NULL DEFAULT 'objects' CHECK (payload IN ('objects', 'ids')),
  active          boolean NOT NULL DEFAULT true,
  created         timestamptz NOT NULL DEFAULT now(),
  modified        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_subscriptions_by_client ON alert_subscriptions (client_id);

-- One row per stored batch of versions: its collection and its date_added range. Written in the
-- transaction that stores the batch, so a crash loses no alert; deleted in the transaction that
-- turns it into alerts, so none is made twice.
CREATE TABLE alert_outbox (
  seq            bigserial PRIMARY KEY,
  collection_id  uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  first_added    timestamptz NOT NULL,
  last_added     timestamptz NOT NULL
);

-- seq is the SSE event id: only one matcher inserts at a time (an advisory lock), so alerts
-- commit in seq order and a stream resumed after an id misses none.
CREATE TABLE alerts (
  seq             bigserial PRIMARY KEY,
  -- The idempotency key a receiver deduplicates on.
  id              uuid NOT NULL UNIQUE,
  subscription_id uuid NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
  collection_id   uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  -- The matched versions, by their date_added in the collection (text, microseconds).
  object_refs     jsonb NOT NULL,
  -- When the earliest matched version was stored: delivery latency is measured from it.
  stored_at       timestamptz NOT NULL,
  created         timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- pending → delivered | dead (webhook); stream (no webhook: the stream only); withheld (the
  -- client may no longer read any of its objects when it was to be sent).
  state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead', 'stream', 'withheld')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt    timestamptz NOT NULL DEFAULT now(),
  lease_owner     uuid,
  lease_until     timestamptz NOT NULL DEFAULT '-infinity',
  last_error      text,
  last_status     integer,
  delivered_at    timestamptz
);
CREATE INDEX alerts_due ON alerts (next_attempt) WHERE state = 'pending';
CREATE INDEX alerts_by_subscription ON alerts (subscription_id, seq);
CREATE INDEX alerts_by_created ON alerts (created);

-- The CPE watchlist: relationships that reference a given vulnerability or software, found
-- without reading a collection's every relationship.
CREATE INDEX objects_relationship_refs ON objects USING gin (ref_ids) WHERE type = 'relationship';
