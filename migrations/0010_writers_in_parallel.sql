-- Writers of one collection no longer wait for each other. Until now each writer held the
-- collection's row lock from its first stamp to its commit, so that stamps committed in order and
-- a poller reading up to a stamp could never later find an earlier one committed. Now:
--  * stamps come from one clock, a sequence of microseconds since the Unix epoch, handed out by
--    vigil_stamps() under a lock held for the hand-out only;
--  * a writer first commits a row here, saying that every stamp it will take is at or after
--    `floor`, and deletes it in the transaction that stores its objects;
--  * readers serve only what lies before the earliest floor of a collection's writers in flight
--    (the horizon), so no poller moves past a stamp whose objects have not committed yet.
-- A writer that died leaves its row: it stops counting when its session has ended (its server
-- process is gone), or at the latest once `until`, its lease, has passed.

-- The clock starts after every stamp the collections handed out (they kept their last one).
CREATE SEQUENCE date_added_clock MINVALUE 0;
SELECT setval('date_added_clock',
  greatest((extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
           coalesce((SELECT max(extract(epoch FROM last_date_added) * 1000000)::bigint FROM collections
                     WHERE last_date_added > '-infinity'), 0)));
ALTER TABLE collections DROP COLUMN last_date_added;

-- `n` consecutive stamps after every stamp handed out, and at or after the clock: the first one.
CREATE FUNCTION vigil_stamps(n integer) RETURNS timestamptz LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  first bigint;
BEGIN
  -- A session lock, released at once: a transaction lock would be held to commit, and writers
  -- would wait for each other again.
  PERFORM pg_advisory_lock(8231470000000000001);
  BEGIN
    SELECT greatest(last_value + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) INTO first FROM date_added_clock;
    PERFORM setval('date_added_clock', first + greatest(n, 1) - 1);
  EXCEPTION WHEN query_canceled OR others THEN
    PERFORM pg_advisory_unlock(8231470000000000001);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(8231470000000000001);
  RETURN 'epoch'::timestamptz + first * interval '1 microsecond';
END $$;

CREATE TABLE writers_in_flight (
  id            bigserial PRIMARY KEY,
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  -- Every stamp this writer takes comes after the clock's value when this row was written.
  floor         timestamptz NOT NULL,
  until         timestamptz NOT NULL,
  -- The session the writer stores in: its server process, and when that started (pids are reused).
  pid           integer NOT NULL,
  backend_start timestamptz
);
CREATE INDEX writers_in_flight_by_collection ON writers_in_flight (collection_id, floor);
