-- A client polls the status of a large request while it runs, and each poll reads every detail
-- of it (a 40 MB bundle has 25,000). So a queued request's objects wait in a table of their own
-- until they are stored, no longer in their status details, which stay small rows; storing an
-- object deletes its payload row instead of rewriting its detail with it. And each detail keeps
-- its item of the status resource as JSON text, made when the detail is written, so a poll joins
-- texts instead of making JSON of every detail again. Requests queued before keep their payloads.
CREATE TABLE pending_objects (
  status_id uuid NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  seq       integer NOT NULL,
  payload   jsonb NOT NULL,
  PRIMARY KEY (status_id, seq)
);

INSERT INTO pending_objects (status_id, seq, payload)
  SELECT status_id, seq, payload FROM status_details WHERE outcome = 'pending' AND payload IS NOT NULL;

ALTER TABLE status_details DROP COLUMN payload;

-- A JSON string of the text: to_json is only stable for other types (dates follow settings).
CREATE FUNCTION vigil_json_string(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_json(t)::text $$;

-- TAXII 2.1 §4.3.1: a status detail has `message` only where one is recorded; a failure's names
-- the object's place in the request too, as its id may be missing or wrong.
ALTER TABLE status_details ADD COLUMN item text GENERATED ALWAYS AS (
  '{"id":' || vigil_json_string(coalesce(object_id, '')) || ',"version":' || vigil_json_string(coalesce(version, ''))
  || CASE WHEN message <> '' THEN ',"message":'
       || vigil_json_string(CASE WHEN outcome = 'failure' THEN 'objects[' || seq::text || ']: ' || message ELSE message END)
     ELSE '' END
  || '}'
) STORED;
