-- Read paths at scale (issue 6). `latest`: no other version of the id is later by
-- (spec_version, version_at), i.e. the version a read without match[version] or
-- match[spec_version] serves (TAXII 2.1 §3.4.2). Kept by every write, so the common page reads
-- a partial index in date_added order instead of comparing each row with its other versions.
ALTER TABLE objects ADD COLUMN latest boolean NOT NULL DEFAULT true;

UPDATE objects o SET latest = false
WHERE EXISTS (SELECT 1 FROM objects v
  WHERE v.collection_id = o.collection_id AND v.id = o.id
    AND (v.spec_version > o.spec_version OR (v.spec_version = o.spec_version AND v.version_at > o.version_at)));

-- tlp_level is a key column so a client's level bound is checked inside the index walk.
CREATE INDEX objects_latest_page ON objects (collection_id, date_added, tlp_level) INCLUDE (type) WHERE latest;
