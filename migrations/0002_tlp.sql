-- TLP sharing policy: effective levels on objects, recipients' clearances, RED recipients,
-- collection policies, peer agreements, and the audit of who received what.

-- Levels: 0 CLEAR, 1 GREEN, 2 AMBER, 3 AMBER+STRICT, 4 RED, 5 DENY (served to nobody but the admin).
ALTER TABLE collections
  ADD COLUMN default_level      smallint NOT NULL DEFAULT 2 CHECK (default_level BETWEEN 0 AND 4),
  ADD COLUMN pap_green_only     boolean  NOT NULL DEFAULT false,
  ADD COLUMN relax_container_refs boolean NOT NULL DEFAULT false,
  ADD COLUMN public             boolean  NOT NULL DEFAULT false;

-- kind 'peer': another node of the federation, under an agreement (peer_amber).
ALTER TABLE clients
  ADD COLUMN kind       text     NOT NULL DEFAULT 'client' CHECK (kind IN ('client', 'peer')),
  ADD COLUMN clearance  smallint NOT NULL DEFAULT 0 CHECK (clearance BETWEEN 0 AND 3),
  ADD COLUMN own_org    boolean  NOT NULL DEFAULT false,
  ADD COLUMN peer_amber boolean  NOT NULL DEFAULT false;

CREATE TABLE red_recipients (
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  PRIMARY KEY (collection_id, client_id)
);

-- The strictest level ever seen for an id: it applies to every version, even after deletes.
CREATE TABLE id_levels (
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  id            text NOT NULL,
  tlp_level     smallint NOT NULL,
  PRIMARY KEY (collection_id, id)
);

ALTER TABLE objects
  -- The id's level (strictest of all its versions), kept on every version so a read filters
  -- on a column of the row it is scanning.
  ADD COLUMN tlp_level  smallint NOT NULL DEFAULT 5,
  ADD COLUMN pap_level  smallint,
  -- Why an object is denied to everyone (DENY), for the admin.
  ADD COLUMN deny_reason text,
  -- The ids it points at that decide whether it may be served: 'link' or 'container'.
  ADD COLUMN ref_kind   text CHECK (ref_kind IN ('link', 'container')),
  ADD COLUMN ref_ids    text[] NOT NULL DEFAULT '{}',
  -- NULL: this node originated it; otherwise the peer node it came from (federation).
  ADD COLUMN origin     text;

-- Page walks read position, level and type from the index alone.
CREATE INDEX objects_page ON objects (collection_id, date_added) INCLUDE (tlp_level, type);

CREATE TABLE deliveries (
  seq              bigserial PRIMARY KEY,
  recipient        text NOT NULL,
  collection_id    uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  first_date_added timestamptz NOT NULL,
  last_date_added  timestamptz NOT NULL,
  object_count     integer NOT NULL,
  max_level        smallint NOT NULL,
  delivered_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_by_range ON deliveries (collection_id, first_date_added, last_date_added);
