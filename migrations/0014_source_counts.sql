-- What the console and `vigil source list` show of each source beside its cursor: when its last
-- run ended, however it ended, and how many versions its pulls have stored in all. Counting the
-- stored versions by origin would scan the collection (objects.origin has no index, and a peer's
-- origin names the peer, not the source): the puller adds each page's count in the transaction
-- that stores the page and moves the cursor.
ALTER TABLE sources
  ADD COLUMN last_attempt timestamptz,
  ADD COLUMN stored_count bigint NOT NULL DEFAULT 0 CHECK (stored_count >= 0);

-- Before this release only successes were dated: the best known attempt is the last success.
UPDATE sources SET last_attempt = last_success;

-- What sources stored before this release, counted once here by origin. A TAXII source's versions
-- carry `source/<id>`; a peer's carry the peer's node id, so they are counted only where one source
-- pulls that peer into that collection (with several, none can tell its own: they start at 0).
UPDATE sources s SET stored_count = (
    SELECT count(*) FROM objects o WHERE o.collection_id = s.collection_id AND o.origin = 'source/' || s.id::text)
  WHERE s.kind <> 'peer';
UPDATE sources s SET stored_count = (
    SELECT count(*) FROM objects o WHERE o.collection_id = s.collection_id AND o.origin = c.node_id)
  FROM clients c
  WHERE s.kind = 'peer' AND c.id = s.peer_id AND c.node_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM sources t
                    WHERE t.kind = 'peer' AND t.peer_id = s.peer_id AND t.collection_id = s.collection_id AND t.id <> s.id);
