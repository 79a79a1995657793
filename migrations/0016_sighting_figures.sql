-- Trends (docs/sightings.md, "Trends"): the figures of every stored aggregate sighting (a STIX
-- sighting with x_vigil_bucket, made here or pulled from a peer), extracted once, when the version
-- is stored, as feed values are (migration 0011). Each row points at its object version: whether a
-- reader may count it (the version is the latest, its TLP level, the write horizon, its references
-- visible) is read from that version's row in the same query, so level changes and releases need
-- nothing here, and deletes cascade.
CREATE TABLE sighting_figures (
  collection_id uuid NOT NULL,
  -- The sighting version (objects_version_key); version_key is its `modified`.
  id            text NOT NULL,
  spec_version  text NOT NULL,
  version_key   timestamptz NOT NULL,
  indicator_id  text NOT NULL,
  -- Who published it: the node that signed it into the federation, and the sector-and-country identity it names.
  origin_node   text,
  where_sighted text,
  bucket_size   text NOT NULL CHECK (bucket_size IN ('hour', 'day')),
  bucket_start  timestamptz NOT NULL,
  count         bigint NOT NULL CHECK (count >= 0),
  organisations integer,
  first_seen    timestamptz,
  last_seen     timestamptz,
  PRIMARY KEY (collection_id, id, spec_version, version_key),
  FOREIGN KEY (collection_id, id, spec_version, version_key)
    REFERENCES objects (collection_id, id, spec_version, version_key) ON DELETE CASCADE
);
-- A window of buckets (the ranking), and one indicator's buckets (its series).
CREATE INDEX sighting_figures_by_bucket ON sighting_figures (bucket_size, bucket_start);
CREATE INDEX sighting_figures_by_indicator ON sighting_figures (indicator_id, bucket_size, bucket_start);

-- Sightings stored before this release are extracted by the node at start (store/sighting-figures.ts).
INSERT INTO node_settings (key, value)
SELECT 'sighting_figures_backfill_after', '' WHERE EXISTS (SELECT 1 FROM objects WHERE type = 'sighting');
