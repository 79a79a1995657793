import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';
import { DENY } from '../policy/levels.ts';
import { taxiiTime } from './timestamps.ts';

// Versions withheld because a marking they reference has no known definition yet (STIX puts no
// order on objects: the definition may come later in a request, in a later request, or from a
// peer). They wait in the `objects_waiting` index and are released when it arrives.

/** A version waiting for marking definitions, to be resolved again. */
export type WaitingVersion = {
  date_added: string;
  id: string;
  type: string;
  marking_refs: string[];
  unresolved_refs: string[];
  origin: string | null;
};

/** The collection's versions that wait for any of these marking-definition ids. */
export async function waitingFor(tx: Transaction<Schema>, collectionId: string, definitionIds: string[]): Promise<WaitingVersion[]> {
  if (definitionIds.length === 0) return [];
  const r = await sql<WaitingVersion>`
    SELECT ${taxiiTime('o.date_added')} AS date_added, o.id, o.type, o.marking_refs, o.unresolved_refs, o.origin FROM objects o
    WHERE o.collection_id = ${collectionId} AND o.unresolved_refs <> '{}' AND o.unresolved_refs && ARRAY[${sql.join(definitionIds)}]::text[]
    ORDER BY o.date_added`.execute(tx);
  return r.rows;
}

/** A waiting version resolved again: `unresolved` empty when every marking is now known. */
export type Resolved = { date_added: string; level: number; pap: number | null; deny_reason: string | null; unresolved: string[] };

/** What a release changed: the ids now served at their real level, and how many rows moved. */
export type Released = { ids: string[]; restamped: number };

/**
 * Records waiting versions resolved again, in the writer's transaction. A version whose markings
 * all resolved has its level remembered for its id (id_levels); an id with no version still
 * waiting takes that level on every version. Every row that becomes visible is added to the
 * collection again (restamp): a poller whose `added_after` is past its first date_added must
 * still get it, and so must a peer pulling from here.
 */
export async function releaseVersions(tx: Transaction<Schema>, collectionId: string, resolved: Resolved[]): Promise<Released> {
  if (resolved.length === 0) return { ids: [], restamped: 0 };
  const rows = JSON.stringify(resolved);
  const touched = await sql<{ id: string }>`
    WITH u AS (
      SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS u(date_added timestamptz, level smallint, pap smallint, deny_reason text, unresolved text[])
    ), updated AS (
      UPDATE objects o SET unresolved_refs = u.unresolved, deny_reason = u.deny_reason, pap_level = u.pap
      FROM u WHERE o.collection_id = ${collectionId} AND o.date_added = u.date_added
      RETURNING o.id, u.level, u.unresolved
    ), remembered AS (
      INSERT INTO id_levels (collection_id, id, tlp_level)
      SELECT ${collectionId}::uuid, d.id, max(d.level) FROM updated d WHERE d.unresolved = '{}' GROUP BY d.id
      ON CONFLICT (collection_id, id) DO UPDATE SET tlp_level = greatest(id_levels.tlp_level, excluded.tlp_level)
    )
    SELECT DISTINCT id FROM updated`.execute(tx);
  const ids = touched.rows.map((row) => row.id);
  if (ids.length === 0) return { ids: [], restamped: 0 };
  // Every version of an id takes the id's level, unless one of them still waits. Before this,
  // every version of these ids was DENY (they had a waiting version): a change is a release.
  const changed = await sql<{ id: string }>`
    WITH e AS (
      SELECT l.id, CASE WHEN EXISTS (SELECT 1 FROM objects p WHERE p.collection_id = ${collectionId} AND p.id = l.id AND p.unresolved_refs <> '{}')
                        THEN ${sql.lit(DENY)} ELSE l.tlp_level END AS level
      FROM id_levels l WHERE l.collection_id = ${collectionId} AND l.id IN (${sql.join(ids)})
    )
    UPDATE objects o SET tlp_level = e.level FROM e
    WHERE o.collection_id = ${collectionId} AND o.id = e.id AND o.tlp_level <> e.level
    RETURNING o.id`.execute(tx);
  const released = [...new Set(changed.rows.map((row) => row.id))];
  if (released.length === 0) return { ids: [], restamped: 0 };
  return { ids: released, restamped: await restamp(tx, collectionId, released) };
}

/**
 * Gives new date_added stamps (after every stamp handed out so far, in their old order) to the
 * versions of the released ids and to the links and containers pointing at them, whose
 * visibility follows theirs; and records the range in the alert outbox. The stamps come from the
 * clock like a writer's, inside the caller's announcement as a writer (write-horizon.ts).
 *
 * The links are found by a scan of the collection's rows (ref_ids has no index: keeping one costs
 * every write, and a release is rare: it follows a definition that came after its objects).
 */
async function restamp(tx: Transaction<Schema>, collectionId: string, ids: string[]): Promise<number> {
  const list = sql`ARRAY[${sql.join(ids)}]::text[]`;
  const r = await sql<{ n: string }>`
    WITH moved AS (
      SELECT o.date_added, row_number() OVER (ORDER BY o.date_added) - 1 AS ord FROM objects o
      WHERE o.collection_id = ${collectionId} AND (o.id = ANY (${list}) OR (o.ref_kind IS NOT NULL AND o.ref_ids && ${list}))
    ), n AS (SELECT count(*)::int AS n FROM moved), first AS (
      SELECT vigil_stamps(n.n) AS base, n.n FROM n WHERE n.n > 0
    ), stamp AS (
      SELECT base, base + (n - 1) * interval '1 microsecond' AS last FROM first
    ), outbox AS (
      INSERT INTO alert_outbox (collection_id, first_added, last_added) SELECT ${collectionId}::uuid, base, last FROM stamp
    ), moving AS (
      UPDATE objects o SET date_added = stamp.base + m.ord * interval '1 microsecond'
      FROM moved m, stamp WHERE o.collection_id = ${collectionId} AND o.date_added = m.date_added
      RETURNING 1
    )
    SELECT count(*)::text AS n FROM moving`.execute(tx);
  return Number(r.rows[0]?.n ?? 0);
}

/** A withheld (DENY) version of one of the given ids, with why. */
export type WithheldVersion = { id: string; version: string; deny_reason: string | null; unresolved_refs: string[] };

/** The versions of these ids that are served to nobody, for a request's status. */
export async function withheldVersions(db: Db, collectionId: string, ids: string[]): Promise<WithheldVersion[]> {
  if (ids.length === 0) return [];
  const r = await sql<WithheldVersion>`
    SELECT o.id, coalesce(o.version, ${taxiiTime('o.version_at')}) AS version, o.deny_reason, o.unresolved_refs
    FROM objects o WHERE o.collection_id = ${collectionId} AND o.id = ANY (ARRAY[${sql.join(ids)}]::text[]) AND o.tlp_level = ${sql.lit(DENY)}
    ORDER BY o.id, o.version_at`.execute(db);
  return r.rows;
}
