import { sql } from 'kysely';
import type { Kysely, RawBuilder, Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';

// Writers of a collection store side by side, and commit in any order; readers serve only what
// lies before the horizon: the earliest stamp a writer still in flight may take (migration 0010
// says how). A poller's added_after therefore never passes a stamp whose objects commit later.

/**
 * How long past its lease a writer's row still holds the horizon back. Its transaction checks the
 * lease just before it commits (finishWrite); this covers the moments between that and the commit.
 */
const GRACE_SECONDS = 30;

/**
 * On the primary: the writer's session (alias `w`) is still there. Its start time tells a reused
 * pid apart; a role that may not read another role's start times sees it null, and then the pid
 * alone counts (a replica running under another role must never pass over a live writer).
 */
const sessionAlive = sql<boolean>`EXISTS (SELECT 1 FROM pg_stat_activity a
  WHERE a.pid = w.pid AND (a.backend_start IS NULL OR w.backend_start IS NULL OR a.backend_start = w.backend_start))`;

/** A write lease ran out before the transaction could commit: nothing of it was stored. */
export class WriteLeaseExpired extends Error {
  override name = 'WriteLeaseExpired';
}

/**
 * Announces a writer of the collection on this session, in a transaction of its own (readers must
 * see it before the writer's first stamp): every stamp it takes from now comes after the clock's
 * value. Rows of writers long gone are cleared on the way.
 */
async function startWrite(session: Kysely<Schema>, collectionId: string, leaseSeconds: number): Promise<string> {
  const r = await sql<{ id: string }>`
    WITH gone AS (
      DELETE FROM writers_in_flight w WHERE w.until < now() - ${GRACE_SECONDS * 2} * interval '1 second' OR NOT ${sessionAlive}
    )
    INSERT INTO writers_in_flight (collection_id, floor, until, pid, backend_start)
    SELECT ${collectionId}, 'epoch'::timestamptz + (c.last_value + 1) * interval '1 microsecond',
           clock_timestamp() + ${leaseSeconds} * interval '1 second', pg_backend_pid(),
           (SELECT a.backend_start FROM pg_stat_activity a WHERE a.pid = pg_backend_pid())
    FROM date_added_clock c
    RETURNING id::text`.execute(session);
  return r.rows[0]!.id;
}

/** Ends the writer's announcement in the transaction that stores its objects: both commit together. */
async function finishWrite(tx: Transaction<Schema>, writer: string): Promise<void> {
  const r = await sql`DELETE FROM writers_in_flight WHERE id = ${writer} AND until > clock_timestamp() RETURNING id`.execute(tx);
  if (r.rows.length === 0) throw new WriteLeaseExpired('the write took longer than its lease (WORK_LEASE_SECONDS); nothing was stored');
}

/**
 * Runs `work` as a writer of the collection (or of each of several), on one session: announced
 * first, then its transaction stores and ends the announcements together. A failed transaction's
 * announcements are cleared; a writer whose process died is passed over by readers (beforeHorizon).
 */
export async function asWriter<T>(
  db: Db,
  collectionId: string | readonly string[],
  leaseSeconds: number,
  work: (tx: Transaction<Schema>) => Promise<T>,
): Promise<T> {
  const ids = typeof collectionId === 'string' ? [collectionId] : collectionId;
  return db.connection().execute(async (session) => {
    const writers: string[] = [];
    try {
      for (const id of ids) writers.push(await startWrite(session, id, leaseSeconds));
      return await session.transaction().execute(async (tx) => {
        const result = await work(tx);
        for (const writer of writers) await finishWrite(tx, writer);
        return result;
      });
    } catch (err) {
      for (const writer of writers) await sql`DELETE FROM writers_in_flight WHERE id = ${writer}`.execute(session).catch(() => {});
      throw err;
    }
  });
}

/**
 * The horizon of the collection: the earliest floor of its writers in flight whose lease has not
 * run out and whose session is alive ('infinity' when none). A read replica cannot see the
 * primary's sessions: there a writer counts until its lease ends, or until a writer on the primary
 * clears it (startWrite), which the replica replays.
 */
export function horizon(collectionId: string | RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`(SELECT coalesce(min(w.floor), 'infinity') FROM writers_in_flight w
    WHERE w.collection_id = ${collectionId} AND w.until > now() - ${sql.lit(GRACE_SECONDS)} * interval '1 second'
      AND (pg_is_in_recovery() OR ${sessionAlive}))`;
}

/** The condition that keeps a read of the collection's rows (alias `o`) before the horizon. */
export function beforeHorizon(collectionId: string): RawBuilder<boolean> {
  return sql<boolean>`o.date_added < ${horizon(collectionId)}`;
}
