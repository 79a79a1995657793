-- Trends at scale (docs/sightings.md, "Trends"): a window's figures are read without visiting a
-- row of objects per aggregate version. Each figures row keeps a copy of what a TAXII read of
-- latest versions checks on its version (latest, date_added, level, references), filled from the
-- version when the row is stored and kept in step by a trigger on every change to the version's
-- row (a later version, a release, a stricter level, a new stamp), whichever code makes it; and
-- the window is read from the latest versions only, by a partial index.
ALTER TABLE sighting_figures
  ADD COLUMN latest     boolean NOT NULL DEFAULT true,
  ADD COLUMN date_added timestamptz,
  ADD COLUMN tlp_level  smallint,
  ADD COLUMN ref_kind   text,
  ADD COLUMN ref_ids    text[] NOT NULL DEFAULT '{}';

UPDATE sighting_figures f
SET latest = o.latest, date_added = o.date_added, tlp_level = o.tlp_level, ref_kind = o.ref_kind, ref_ids = o.ref_ids
FROM objects o
WHERE o.collection_id = f.collection_id AND o.id = f.id AND o.spec_version = f.spec_version AND o.version_key = f.version_key;

ALTER TABLE sighting_figures ALTER COLUMN date_added SET NOT NULL, ALTER COLUMN tlp_level SET NOT NULL;

CREATE FUNCTION sighting_figures_from_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT o.latest, o.date_added, o.tlp_level, o.ref_kind, o.ref_ids
  INTO NEW.latest, NEW.date_added, NEW.tlp_level, NEW.ref_kind, NEW.ref_ids
  FROM objects o
  WHERE o.collection_id = NEW.collection_id AND o.id = NEW.id AND o.spec_version = NEW.spec_version AND o.version_key = NEW.version_key;
  RETURN NEW;
END $$;

CREATE TRIGGER sighting_figures_from_version BEFORE INSERT ON sighting_figures
  FOR EACH ROW EXECUTE FUNCTION sighting_figures_from_version();

CREATE FUNCTION sighting_figures_follow_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE sighting_figures f
  SET latest = NEW.latest, date_added = NEW.date_added, tlp_level = NEW.tlp_level, ref_kind = NEW.ref_kind, ref_ids = NEW.ref_ids
  WHERE f.collection_id = NEW.collection_id AND f.id = NEW.id AND f.spec_version = NEW.spec_version AND f.version_key = NEW.version_key;
  RETURN NULL;
END $$;

CREATE TRIGGER objects_sighting_figures AFTER UPDATE OF latest, date_added, tlp_level, ref_kind, ref_ids ON objects
  FOR EACH ROW WHEN (NEW.type = 'sighting' AND (OLD.latest, OLD.date_added, OLD.tlp_level, OLD.ref_kind, OLD.ref_ids)
    IS DISTINCT FROM (NEW.latest, NEW.date_added, NEW.tlp_level, NEW.ref_kind, NEW.ref_ids))
  EXECUTE FUNCTION sighting_figures_follow_version();

-- A window of buckets, latest versions only (the ranking and the alerts' counting).
CREATE INDEX sighting_figures_latest_by_bucket ON sighting_figures (bucket_size, bucket_start) WHERE latest;
-- One indicator's buckets, latest versions only (its series, an alert's indicator).
CREATE INDEX sighting_figures_latest_by_indicator ON sighting_figures (indicator_id, bucket_size, bucket_start) WHERE latest;
