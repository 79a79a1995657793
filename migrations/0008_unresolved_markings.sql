-- Markings that arrive later (issue 14). STIX puts no order on objects: a version may reference
-- a marking-definition that comes later in the request, in a later request, or from a peer. Such
-- a version is withheld from everyone (fail closed) only until the definition is known: it
-- remembers which marking ids it waits for, and is released at its real level when they arrive.
ALTER TABLE objects ADD COLUMN unresolved_refs text[] NOT NULL DEFAULT '{}';

-- Few versions wait at a time: the index holds only them, by collection and id (a new version
-- of a waiting id is withheld too; a definition's arrival reads its collection's waiting rows).
CREATE INDEX objects_waiting ON objects (collection_id, id) WHERE unresolved_refs <> '{}';

-- Versions stored before this migration with a marking that could not be resolved were denied
-- for good, and their id's level was remembered as DENY. They wait now, for every marking that
-- is not a predefined TLP id (the release re-resolves them all against the stored definitions),
-- so sending the definition again, alone or with its bundle, releases them.
UPDATE objects SET unresolved_refs = ARRAY(
    SELECT r FROM unnest(marking_refs) AS r
    WHERE r NOT IN (
      'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9', 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
      'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
      'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487', 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
      'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
      'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1', 'marking-definition--826578e1-40ad-459f-bc73-ede076f81f37'))
WHERE deny_reason LIKE 'marking % cannot be resolved%';

-- An id whose every version waits had its level remembered as DENY only because of the wait:
-- the floor (CLEAR) lets the release decide it. Ids with other versions keep what they had.
UPDATE id_levels l SET tlp_level = 0
WHERE EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = l.collection_id AND o.id = l.id AND o.unresolved_refs <> '{}')
  AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = l.collection_id AND o.id = l.id AND o.unresolved_refs = '{}');
