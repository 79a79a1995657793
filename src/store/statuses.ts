import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';
import type { Db } from './objects.ts';
import { taxiiTime } from './timestamps.ts';

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

export async function insertStatus(
  db: Executor,
  s: { id: string; collectionId: string; clientId: string | null; total: number; retentionHours: number },
): Promise<void> {
  await sql`INSERT INTO statuses (id, collection_id, client_id, request_timestamp, total_count, expires)
    VALUES (${s.id}, ${s.collectionId}, ${s.clientId}, now(), ${s.total}, now() + ${s.retentionHours} * interval '1 hour')`.execute(db);
}

/** Writes (or rewrites) the outcome of some of a status's objects, in one statement. */
export async function upsertDetails(db: Executor, statusId: string, details: DetailRow[]): Promise<void> {
  if (details.length === 0) return;
  const rows = JSON.stringify(details);
  await sql`INSERT INTO status_details (status_id, seq, outcome, object_id, version, message)
    SELECT ${statusId}::uuid, d.seq, d.outcome, d.object_id, d.version, d.message
    FROM jsonb_to_recordset(${rows}::jsonb) AS d(seq int, outcome text, object_id text, version text, message text)
    ON CONFLICT (status_id, seq) DO UPDATE SET outcome = excluded.outcome, message = excluded.message`.execute(db);
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

export async function deleteExpiredStatuses(db: Db): Promise<number> {
  const r = await db.deleteFrom('statuses').where('expires', '<=', sql<string>`now()`).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function insertJob(db: Executor, statusId: string, collectionId: string, objectsJson: string): Promise<void> {
  await db.insertInto('ingest_jobs').values({ status_id: statusId, collection_id: collectionId, objects: objectsJson }).execute();
}

/**
 * Takes one job whose lease has run out (a new job, or one whose replica died), for
 * `leaseSeconds`; SKIP LOCKED lets replicas share the queue without waiting on each other.
 */
export async function claimJob(db: Db, leaseSeconds: number, statusId?: string): Promise<{ status_id: string; collection_id: string; objects: string } | undefined> {
  const r = await sql<{ status_id: string; collection_id: string; objects: string }>`
    UPDATE ingest_jobs SET lease_until = now() + ${leaseSeconds} * interval '1 second'
    WHERE status_id = (
      SELECT status_id FROM ingest_jobs
      WHERE lease_until < now() ${statusId ? sql`AND status_id = ${statusId}` : sql``}
      ORDER BY status_id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING status_id, collection_id, objects`.execute(db);
  return r.rows[0];
}

export async function extendLease(db: Db, statusId: string, leaseSeconds: number): Promise<void> {
  await sql`UPDATE ingest_jobs SET lease_until = now() + ${leaseSeconds} * interval '1 second' WHERE status_id = ${statusId}`.execute(db);
}

export async function deleteJob(db: Executor, statusId: string): Promise<void> {
  await db.deleteFrom('ingest_jobs').where('status_id', '=', statusId).execute();
}
