-- Feeds: plain lists of IP addresses, domains, URLs and hashes for firewalls, DNS and EDR tools
-- (docs/feeds.md). The values an indicator's pattern or an SCO gives are extracted once, when the
-- version is stored, into feed_values; each row points at its object version. Whether a reader may
-- see a value (the version is the latest, its TLP level, the write horizon) is read from that
-- version's row in the same query, so releases, level changes and restamps need nothing here, and
-- deletes cascade.
CREATE TABLE feed_values (
  collection_id uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('ipv4', 'ipv6', 'domain', 'url', 'sha256', 'md5')),
  -- Byte order (COLLATE "C"): lists are read in index order, the same on every server.
  value         text COLLATE "C" NOT NULL,
  -- The object version the value comes from (objects_version_key).
  id            text NOT NULL,
  spec_version  text NOT NULL,
  version_key   timestamptz NOT NULL,
  -- The indicator's valid_until and confidence; NULL for an SCO.
  valid_until   timestamptz,
  confidence    smallint,
  PRIMARY KEY (collection_id, kind, value, id, spec_version, version_key),
  FOREIGN KEY (collection_id, id, spec_version, version_key)
    REFERENCES objects (collection_id, id, spec_version, version_key) ON DELETE CASCADE
);
CREATE INDEX feed_values_by_version ON feed_values (collection_id, id, spec_version, version_key);
-- URLs without their scheme, for firewalls whose URL lists take none (PAN-OS): read in this order.
CREATE INDEX feed_values_url_without_scheme
  ON feed_values (collection_id, regexp_replace(value, '^[A-Za-z][A-Za-z0-9+.-]*://', ''), value, id, spec_version, version_key)
  WHERE kind = 'url';
-- The latest end of validity that has passed, for a feed's ETag: found without a scan.
CREATE INDEX feed_values_by_expiry ON feed_values (collection_id, valid_until) WHERE valid_until IS NOT NULL;

-- What a feed's ETag cannot see in the rows themselves: a delete, or a stored version that raises
-- the level of versions already served (a stricter marking, or one that waits for its definition).
-- `generation` counts them; both are rare, so writers seldom meet on this row.
CREATE TABLE feed_changes (
  collection_id uuid PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
  generation    bigint NOT NULL DEFAULT 0,
  changed_at    timestamptz NOT NULL DEFAULT now()
);

-- kind 'feed': a client whose token reads feeds and nothing else (it may ride in a URL).
ALTER TABLE clients DROP CONSTRAINT clients_kind_check;
ALTER TABLE clients ADD CONSTRAINT clients_kind_check CHECK (kind IN ('client', 'peer', 'feed'));

-- Versions stored before this release are extracted by the node at start (store/feeds.ts),
-- in batches, from where this setting says: the TypeScript pattern parser is not in SQL.
INSERT INTO node_settings (key, value)
SELECT 'feeds_backfill_after', '' WHERE EXISTS (
  SELECT 1 FROM objects WHERE type IN ('indicator', 'ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'file'));
