-- Every object version and id_levels row stored checked its collection through a foreign key: a
-- lookup and a lock of the collection's row for each row, in the writer's transaction (about 7 µs
-- a row, two rows a version). A writer now locks the collection's row once, FOR KEY SHARE, before
-- it stores (store/objects.ts, lockForWrite and lockIds): the collection cannot go while it
-- writes, and a writer of a collection already gone stores nothing. What the keys kept besides is
-- the cascade, which this trigger does now.
ALTER TABLE objects DROP CONSTRAINT objects_collection_id_fkey;
ALTER TABLE id_levels DROP CONSTRAINT id_levels_collection_id_fkey;

CREATE FUNCTION collection_contents_follow_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Planned at each call (EXECUTE): one collection, or every collection of an API root.
  EXECUTE 'DELETE FROM objects o USING gone g WHERE o.collection_id = g.id';
  EXECUTE 'DELETE FROM id_levels l USING gone g WHERE l.collection_id = g.id';
  RETURN NULL;
END $$;

CREATE TRIGGER collections_contents_gone AFTER DELETE ON collections REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION collection_contents_follow_deletes();
