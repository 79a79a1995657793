-- Sightings (docs/sightings.md): hospitals report what hit them; the node publishes aggregates
-- under a privacy rule. A report names its reporter, which is served to nobody but the node's
-- admin and the reporter's own organisation; what leaves the node is a STIX sighting per
-- indicator and hour or day, resting on enough distinct organisations.

-- The organisation a client belongs to: distinct organisations are what the privacy rule counts.
-- A client without one counts as an organisation of its own.
ALTER TABLE clients ADD COLUMN organisation text CHECK (organisation IS NULL OR length(organisation) BETWEEN 1 AND 200);

CREATE TABLE sighting_reports (
  seq           bigserial PRIMARY KEY,
  -- Who reported it, as at that moment: no foreign key, a report outlives its client.
  client_id     uuid NOT NULL,
  organisation  text,
  -- What the privacy rule counts: 'org:<organisation>', or 'client:<id>' for a client without one.
  org_key       text NOT NULL,
  indicator_id  text NOT NULL,
  -- Where the reporter read the indicator (the aggregates go to every collection holding it).
  collection_id uuid NOT NULL,
  count         integer NOT NULL CHECK (count BETWEEN 1 AND 1000000),
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL CHECK (last_seen >= first_seen),
  shareable     boolean NOT NULL,
  via           text NOT NULL CHECK (via IN ('api', 'taxii')),
  received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The buckets of its last_seen (UTC).
  hour_start    timestamptz NOT NULL,
  day_start     timestamptz NOT NULL,
  -- NULL: not yet in any published aggregate; 'hour': in its hour's and its day's; 'day': in its day's only.
  published     text CHECK (published IN ('hour', 'day'))
);
CREATE INDEX sighting_reports_by_family ON sighting_reports (indicator_id, day_start, hour_start);
CREATE INDEX sighting_reports_by_org ON sighting_reports (org_key, seq);

-- Families (an indicator's day) whose reports changed: the aggregation job takes them, each in a
-- transaction that holds its row (FOR UPDATE SKIP LOCKED), so replicas share them without doubling.
-- `due`: when to look again (a report, or the end of an hour whose reports wait).
CREATE TABLE sighting_work (
  indicator_id text NOT NULL,
  day_start    timestamptz NOT NULL,
  due          timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (indicator_id, day_start)
);
CREATE INDEX sighting_work_by_due ON sighting_work (due);

-- What this node has published of each aggregate: its STIX id, first created and last modified,
-- and the figures of the last version.
CREATE TABLE sighting_aggregates (
  indicator_id  text NOT NULL,
  bucket_size   text NOT NULL CHECK (bucket_size IN ('hour', 'day')),
  bucket_start  timestamptz NOT NULL,
  stix_id       text NOT NULL UNIQUE,
  created       timestamptz NOT NULL,
  modified      timestamptz NOT NULL,
  count         bigint NOT NULL,
  organisations integer NOT NULL,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  PRIMARY KEY (indicator_id, bucket_size, bucket_start)
);
