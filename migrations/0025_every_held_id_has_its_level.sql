-- A writer takes an id whose id_levels row it makes for an id with no version held here, and
-- looks up none of its held versions (store/objects.ts, insertObjects). Every id with a version
-- has had its row since the row came with the version's level (migration 0002); versions stored
-- before that are given theirs here, at the strictest level any of them is stored at.
INSERT INTO id_levels (collection_id, id, tlp_level)
SELECT o.collection_id, o.id, max(o.tlp_level) FROM objects o
WHERE NOT EXISTS (SELECT 1 FROM id_levels l WHERE l.collection_id = o.collection_id AND l.id = o.id)
GROUP BY o.collection_id, o.id;
