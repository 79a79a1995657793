import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';
import type { Db } from './database.ts';
import { taxiiTime, taxiiTimeOf } from './timestamps.ts';

export type Outcome = 'success' | 'failure' | 'pending';
export type DetailRow = { seq: number; outcome: Outcome; object_id: string | null; version: string | null; message: string | null };

export type StatusRow = {
  id: string;
  collection_id: string;
  client_id: string | null;
  request_timestamp: string;
  total_count: number;
};

type Executor = Kysely<Schema>;

/** `total`: the request's objects, when known already (parseRequestObjects sets it otherwise). */
export async function insertStatus(
  db: Executor,
  s: { id: string; collectionId: string; clientId: string | null; retentionHours: number; total?: number },
): Promise<void> {
  await sql`INSERT INTO statuses (id, collection_id, client_id, request_timestamp, total_count, expires)
    VALUES (${s.id}, ${s.collectionId}, ${s.clientId}, now(), ${s.total ?? 0}, now() + ${s.retentionHours} * interval '1 hour')`.execute(
    db,
  );
}

export type BodyShape = { type: string | null; objectsType: string | null; bundleType: string | null; count: number };

export type ParsedBody = BodyShape & { objects: { seq: number; json: string }[] };

/**
 * Lets PostgreSQL parse a request body (UTF-8 bytes of JSON text) in one statement: no JavaScript parse of a
 * large body blocks the node, and numbers are kept as sent. Sets the status's total. A request
 * of at most `inline` objects gets each object back as JSON text, for the caller to store in
 * this transaction with its outcome; a larger one records each as a pending detail, payload and
 * all, for the job that stores it. A body of the wrong shape records nothing.
 */
export async function parseRequestObjects(db: Executor, statusId: string, body: Uint8Array, inline: number): Promise<ParsedBody> {
  // The statement holds the objects array, and the elements taken from it, in memory for this
  // transaction: past work_mem (4 MB by default) each went through a temporary file, written and
  // read back (PostgreSQL holds the parsed body in memory anyway).
  const workMem = sql`(greatest(pg_size_bytes(current_setting('work_mem')), ${2 * body.length}::bigint) / 1024)::bigint || 'kB'`;
  await sql`SELECT set_config('work_mem', ${workMem}, true)`.execute(db);
  // The objects array is taken out of the body once (each `b->'objects'` copies all of it), and
  // held once: `body` is the statement's only CTE. Only one of the two uses of the array reads
  // its elements: a filter on the count would drop them one by one after reading each.
  const r = await sql<BodyShape & { seq: number | null; json: string | null }>`
    WITH body AS MATERIALIZED (
      SELECT y.type, y.bundle_type, jsonb_typeof(y.objects) AS objects_type,
             CASE WHEN jsonb_typeof(y.objects) = 'array' THEN jsonb_array_length(y.objects) ELSE 0 END AS count,
             CASE WHEN jsonb_typeof(y.objects) = 'array' THEN y.objects ELSE '[]'::jsonb END AS objects
      FROM (
        SELECT jsonb_typeof(x.b) AS type, x.b->>'type' AS bundle_type, CASE WHEN jsonb_typeof(x.b) = 'object' THEN x.b->'objects' END AS objects
        FROM (SELECT convert_from(${body}::bytea, 'UTF8')::jsonb AS b OFFSET 0) x OFFSET 0
      ) y
    ),
    recorded AS (
      INSERT INTO status_details (status_id, seq, outcome, object_id, version, payload)
      SELECT ${statusId}::uuid, (e.ord - 1)::int, 'pending',
             CASE WHEN jsonb_typeof(e.obj) = 'object' THEN left(e.obj->>'id', 300) END,
             CASE WHEN jsonb_typeof(e.obj) = 'object' THEN left(coalesce(e.obj->>'modified', e.obj->>'created'), 300) END,
             e.obj
      FROM body, jsonb_array_elements(CASE WHEN body.count > ${inline} THEN body.objects ELSE '[]' END) WITH ORDINALITY AS e(obj, ord)
    ),
    counted AS (UPDATE statuses SET total_count = body.count FROM body WHERE statuses.id = ${statusId})
    SELECT body.type, body.objects_type AS "objectsType", body.bundle_type AS "bundleType", body.count, e.seq, e.json
    FROM body LEFT JOIN LATERAL (
      SELECT (e.ord - 1)::int AS seq, e.obj::text AS json
      FROM jsonb_array_elements(CASE WHEN body.count <= ${inline} THEN body.objects ELSE '[]' END) WITH ORDINALITY AS e(obj, ord)
    ) e ON true
    ORDER BY e.seq`.execute(db);
  const { type, objectsType, bundleType, count } = r.rows[0]!;
  const objects = r.rows.flatMap((row) => (row.seq === null || row.json === null ? [] : [{ seq: row.seq, json: row.json }]));
  return { type, objectsType, bundleType, count, objects };
}

/** Records the outcome of objects stored without ever being pending (a request stored inline). */
export async function insertDetails(db: Executor, statusId: string, details: DetailRow[]): Promise<void> {
  if (details.length === 0) return;
  await sql`INSERT INTO status_details (status_id, seq, outcome, object_id, version, message)
    SELECT ${statusId}::uuid, d.seq, d.outcome, left(d.object_id, 300), left(d.version, 300), d.message
    FROM jsonb_to_recordset(${JSON.stringify(details)}::jsonb) AS d(seq int, outcome text, object_id text, version text, message text)`.execute(
    db,
  );
}

/** The pending objects of a request with seq in [from, from + count), in order, as JSON text. */
export async function pendingObjects(
  db: Executor,
  statusId: string,
  from: number,
  count: number,
): Promise<{ seq: number; json: string }[]> {
  // A seq range, not `LIMIT`: right after a bulk insert the planner has no statistics and
  // would scan (and render) every pending row of a large request for each chunk.
  const r = await sql<{ seq: number; json: string }>`
    SELECT seq, payload::text AS json FROM status_details
    WHERE status_id = ${statusId} AND seq >= ${from} AND seq < ${from + count} AND outcome = 'pending'
    ORDER BY seq`.execute(db);
  return r.rows;
}

/**
 * A queued request's pending marking definitions, in order, as JSON text: stored before the
 * rest. Found by the id recorded at parse time, so no other payload is read.
 */
export async function pendingDefinitions(db: Executor, statusId: string): Promise<{ seq: number; json: string }[]> {
  const r = await sql<{ seq: number; json: string }>`
    SELECT seq, payload::text AS json FROM status_details
    WHERE status_id = ${statusId} AND outcome = 'pending' AND object_id LIKE 'marking-definition--%'
    ORDER BY seq`.execute(db);
  return r.rows;
}

/** Seqs per block of a status's details: the unit a poll reads again when it changed (migration 0022). */
export const DETAIL_BLOCK = 1000;

/**
 * Raises the version of the blocks of the details a statement changed (`changed`: a CTE of
 * status_id and seq), in (status, block) order: writers that change blocks of one status wait for
 * each other there, never in a cycle.
 */
function raiseBlocks(changed: string) {
  return sql`INSERT INTO status_blocks (status_id, k, version)
    SELECT c.status_id, c.seq / ${sql.lit(DETAIL_BLOCK)}, 1 FROM ${sql.table(changed)} c GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (status_id, k) DO UPDATE SET version = status_blocks.version + 1`;
}

/** Records the outcome of some of a request's objects and lets go of their payloads. */
export async function settleDetails(db: Executor, statusId: string, details: DetailRow[]): Promise<void> {
  if (details.length === 0) return;
  const rows = JSON.stringify(details);
  await sql`WITH settled AS (
      UPDATE status_details AS s
      SET outcome = d.outcome, object_id = left(d.object_id, 300), version = left(d.version, 300), message = d.message, payload = NULL
      FROM jsonb_to_recordset(${rows}::jsonb) AS d(seq int, outcome text, object_id text, version text, message text)
      WHERE s.status_id = ${statusId} AND s.seq = d.seq
      RETURNING s.status_id, s.seq
    )
    ${raiseBlocks('settled')}`.execute(db);
}

export async function findStatus(db: Db, id: string): Promise<StatusRow | undefined> {
  return db
    .selectFrom('statuses')
    .select(['id', 'collection_id', 'client_id', taxiiTime('request_timestamp').as('request_timestamp'), 'total_count'])
    .where('id', '=', id)
    .where('expires', '>', sql<string>`now()`)
    .executeTakeFirst();
}

export async function listDetails(db: Db, statusId: string): Promise<DetailRow[]> {
  return db
    .selectFrom('status_details')
    .select(['seq', 'outcome', 'object_id', 'version', 'message'])
    .where('status_id', '=', statusId)
    .orderBy('seq')
    .execute();
}

/** A block of a status's details (seq in [k·DETAIL_BLOCK, (k+1)·DETAIL_BLOCK)): its fingerprint, and its rows when asked for. */
export type DetailBlock = { k: number; fingerprint: string; rows: DetailRow[] };

/**
 * A status's details by block, in one statement (one snapshot): each block's fingerprint (its
 * version in status_blocks, raised by every statement that changes one of its details), and the
 * rows of the blocks whose fingerprint differs from `known` (k → fingerprint). The details are
 * made with the status, seq 0 to total_count - 1, so its blocks follow from its total.
 */
export async function detailBlocks(db: Db, statusId: string, known: ReadonlyMap<number, string>): Promise<DetailBlock[]> {
  const knownJson = JSON.stringify([...known].map(([k, f]) => ({ k, f })));
  const size = sql.lit(DETAIL_BLOCK);
  const r = await sql<{ k: number; fingerprint: string | null } & Partial<DetailRow>>`
    WITH fp AS MATERIALIZED (
      SELECT g.k, coalesce(b.version, 0)::text AS fingerprint
      FROM statuses st CROSS JOIN LATERAL generate_series(0, (st.total_count + ${size} - 1) / ${size} - 1) AS g(k)
      LEFT JOIN status_blocks b ON b.status_id = st.id AND b.k = g.k
      WHERE st.id = ${statusId}
    ), changed AS (
      SELECT fp.k FROM fp LEFT JOIN jsonb_to_recordset(${knownJson}::jsonb) AS x(k int, f text) ON x.k = fp.k
      WHERE x.f IS DISTINCT FROM fp.fingerprint
    )
    SELECT k, fingerprint, NULL::int AS seq, NULL AS outcome, NULL AS object_id, NULL AS version, NULL AS message FROM fp
    UNION ALL
    -- Block by block (OFFSET 0 keeps each a range of the primary key): as a join, the planner read
    -- every detail of the status to keep those of the changed blocks.
    SELECT c.k, NULL, d.seq, d.outcome, d.object_id, d.version, d.message
    FROM changed c CROSS JOIN LATERAL (
      SELECT d.seq, d.outcome, d.object_id, d.version, d.message FROM status_details d
      WHERE d.status_id = ${statusId} AND d.seq >= c.k * ${size} AND d.seq < (c.k + 1) * ${size} OFFSET 0
    ) d
    ORDER BY 1, 3 NULLS FIRST`.execute(db);
  const blocks: DetailBlock[] = [];
  for (const row of r.rows) {
    if (row.fingerprint !== null) blocks.push({ k: row.k, fingerprint: row.fingerprint, rows: [] });
    else
      blocks.at(-1)!.rows.push({
        seq: row.seq!,
        outcome: row.outcome!,
        object_id: row.object_id ?? null,
        version: row.version ?? null,
        message: row.message ?? null,
      });
  }
  return blocks;
}

export async function deleteExpiredStatuses(db: Db): Promise<number> {
  const r = await db.deleteFrom('statuses').where('expires', '<=', sql<string>`now()`).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Queued requests not finished yet, and their objects (for the metrics). */
export async function ingestBacklog(db: Db): Promise<{ requests: number; objects: number }> {
  const r = await sql<{ requests: string; objects: string }>`
    SELECT count(*)::text AS requests, coalesce(sum(s.total_count), 0)::text AS objects
    FROM ingest_jobs j JOIN statuses s ON s.id = j.status_id`.execute(db);
  return { requests: Number(r.rows[0]?.requests ?? 0), objects: Number(r.rows[0]?.objects ?? 0) };
}

export async function insertJob(db: Executor, statusId: string, collectionId: string): Promise<void> {
  await db.insertInto('ingest_jobs').values({ status_id: statusId, collection_id: collectionId }).execute();
}

/**
 * Takes one job whose lease has run out (a new job, or one whose replica died), for
 * `leaseSeconds`; SKIP LOCKED lets replicas share the queue without waiting on each other.
 */
export async function claimJob(
  db: Db,
  leaseSeconds: number,
  statusId?: string,
): Promise<{ status_id: string; collection_id: string; total_count: number; client_id: string | null } | undefined> {
  const r = await sql<{ status_id: string; collection_id: string; total_count: number; client_id: string | null }>`
    UPDATE ingest_jobs SET lease_until = now() + ${leaseSeconds} * interval '1 second'
    WHERE status_id = (
      SELECT status_id FROM ingest_jobs
      WHERE lease_until < now() ${statusId ? sql`AND status_id = ${statusId}` : sql``}
      ORDER BY status_id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING status_id, collection_id, (SELECT total_count FROM statuses WHERE id = status_id) AS total_count,
      (SELECT client_id::text FROM statuses WHERE id = status_id) AS client_id`.execute(db);
  return r.rows[0];
}

export async function extendLease(db: Db, statusId: string, leaseSeconds: number): Promise<void> {
  await sql`UPDATE ingest_jobs SET lease_until = now() + ${leaseSeconds} * interval '1 second' WHERE status_id = ${statusId}`.execute(db);
}

export async function deleteJob(db: Executor, statusId: string): Promise<void> {
  await db.deleteFrom('ingest_jobs').where('status_id', '=', statusId).execute();
}

/**
 * Adds `note` (after the time, in TAXII form) to the success messages that mention `containing`
 * of the given objects, in the statuses of requests to the collection still kept: what a request's
 * status said of them no longer holds. A message is noted once.
 */
export async function noteOnDetails(
  db: Executor,
  collectionId: string,
  objectIds: readonly string[],
  containing: string,
  note: string,
): Promise<void> {
  if (objectIds.length === 0) return;
  const suffix = sql<string>`'; ' || ${taxiiTimeOf(sql`now()`)} || ' ' || ${note}`;
  await sql`WITH noted AS (
      UPDATE status_details d SET message = d.message || ${suffix}
      FROM statuses s
      WHERE s.collection_id = ${collectionId} AND d.status_id = s.id AND d.outcome = 'success'
        AND d.object_id IN (${sql.join(objectIds)})
        AND strpos(d.message, ${containing}) > 0 AND strpos(d.message, ${note}) = 0
      RETURNING d.status_id, d.seq
    )
    ${raiseBlocks('noted')}`.execute(db);
}
