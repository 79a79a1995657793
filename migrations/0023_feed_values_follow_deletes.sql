-- A feed value went with its object version by a foreign key (ON DELETE CASCADE), whose check
-- cost every value stored a lookup and a row lock of its version, in the writer's transaction
-- (about 7 µs a value, a fifth of storing it). Values are only ever stored by the transaction that
-- stores their version, for the versions it stored (store/objects.ts), and a feed reads each value
-- through its version's row: what the key kept is the cascade, which this trigger does now,
-- whatever deletes versions (a DELETE, a collection's delete cascading to its objects).
ALTER TABLE feed_values DROP CONSTRAINT feed_values_collection_id_id_spec_version_version_key_fkey;

CREATE FUNCTION feed_values_follow_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Planned at each call (EXECUTE): one version or a whole collection may be gone.
  EXECUTE 'DELETE FROM feed_values f USING gone g
    WHERE f.collection_id = g.collection_id AND f.id = g.id AND f.spec_version = g.spec_version AND f.version_key = g.version_key';
  RETURN NULL;
END $$;

CREATE TRIGGER objects_feed_values_gone AFTER DELETE ON objects REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION feed_values_follow_deletes();
