-- Two indexes every stored version paid for, inside the writer's transaction, that no read needs:
--
-- objects_by_id (collection_id, id, version_at): every lookup by id has objects_version_key
-- (collection_id, id, spec_version, version_key), whose prefix it is; an id holds a handful of
-- versions, sorted by version_at in memory where a query asks. Its keys are random (an id), so
-- each insert touched a page of its own: copying 200,000 versions into a table with both
-- indexes below took 4.5-5.4 s, into one without them 2.9-3.8 s.
--
-- objects_page (collection_id, date_added) INCLUDE (tlp_level, type) had the primary key's
-- columns: the primary key's index now includes tlp_level and type (index-only page counts), and
-- takes objects_page's place.
DROP INDEX IF EXISTS objects_by_id;
CREATE UNIQUE INDEX objects_pkey_with_page ON objects (collection_id, date_added) INCLUDE (tlp_level, type);
ALTER TABLE objects DROP CONSTRAINT objects_pkey;
ALTER TABLE objects ADD CONSTRAINT objects_pkey PRIMARY KEY USING INDEX objects_pkey_with_page;
DROP INDEX IF EXISTS objects_page;
