-- No query searches objects by marking_refs (versions waiting for a marking definition are found
-- by unresolved_refs, through objects_waiting), yet every stored version paid for an entry in this
-- GIN index, and now and then for merging its pending list, inside the writer's transaction.
DROP INDEX IF EXISTS objects_by_marking;
