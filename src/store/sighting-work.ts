import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import { DENY } from '../policy/levels.ts';
import type { WaitingReport } from '../policy/sighting-privacy.ts';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';
import { taxiiTimeOf } from './timestamps.ts';

// The aggregation job's side of sightings (docs/sightings.md, "When"; migrations 0015, 0019). The
// job claims families (an indicator's UTC day) several at a time by a lease, committed at once,
// then works on them in a transaction that holds none of their rows until it settles them: each
// function here is one statement for the whole batch, its rows passed as JSON.

export type Family = { indicator_id: string; day_start: string };

const families = (fs: readonly Family[]) =>
  sql`SELECT f.indicator_id, f.day_start FROM jsonb_to_recordset(${JSON.stringify(fs)}::jsonb) AS f(indicator_id text, day_start timestamptz)`;

/** The families of a claim are no longer all its own (its lease ran out and another replica claimed one): nothing of the batch may commit. */
export class ClaimLost extends Error {
  override name = 'ClaimLost';
}

/**
 * Claims up to `limit` due families, oldest first, for `claim` until its lease ends, and returns
 * them: those claimed by another whose lease has not ended are left out, and so are those a
 * report is writing to at that moment (SKIP LOCKED: a claim waits for nobody, and nobody for it).
 */
export async function claimFamilies(db: Db, claim: string, limit: number, leaseSeconds: number): Promise<Family[]> {
  const r = await sql<Family>`WITH c AS (
      UPDATE sighting_work w SET claim = ${claim}::uuid, claim_touches = w.touches,
        lease_until = clock_timestamp() + ${leaseSeconds} * interval '1 second'
      FROM (SELECT indicator_id, day_start FROM sighting_work
        WHERE due <= clock_timestamp() AND (lease_until IS NULL OR lease_until <= clock_timestamp())
        ORDER BY due LIMIT ${limit} FOR UPDATE SKIP LOCKED) d
      WHERE w.indicator_id = d.indicator_id AND w.day_start = d.day_start
      RETURNING w.indicator_id, w.day_start
    )
    SELECT indicator_id, ${taxiiTimeOf(sql`day_start`)} AS day_start FROM c ORDER BY indicator_id, day_start`.execute(db);
  return r.rows;
}

/** Gives up a claim whose work failed: its families are due for the next pass at once. */
export async function releaseFamilies(db: Db, claim: string): Promise<void> {
  await sql`UPDATE sighting_work SET claim = NULL, claim_touches = NULL, lease_until = NULL WHERE claim = ${claim}::uuid`.execute(db);
}

/**
 * Done with the claim's families, the last step of its transaction: each gone (`due` null), or due
 * again at `due` (the end of an hour whose reports wait), unless a report touched it since the
 * claim: that one stays due now, for a run that sees the report. Their rows are locked first, and
 * must all still be the claim's (the fence: a claim whose lease ran out publishes nothing over a
 * newer one). Returns how many stay due for a report.
 */
export async function settleFamilies(
  tx: Transaction<Schema>,
  claim: string,
  settled: readonly (Family & { due: string | null })[],
): Promise<number> {
  if (settled.length === 0) return 0;
  const own = await sql<{ touched: boolean }>`SELECT w.touches <> w.claim_touches AS touched FROM sighting_work w
    WHERE (w.indicator_id, w.day_start) IN (${families(settled)}) AND w.claim = ${claim}::uuid
    ORDER BY w.indicator_id, w.day_start FOR UPDATE OF w`.execute(tx);
  if (own.rows.length !== settled.length)
    throw new ClaimLost('the claim on sighting families ran out and another replica took them; nothing of the batch was stored');
  await sql`WITH s AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(settled)}::jsonb) AS s(indicator_id text, day_start timestamptz, due timestamptz)
    ), gone AS (
      DELETE FROM sighting_work w USING s WHERE s.due IS NULL AND w.touches = w.claim_touches
        AND w.indicator_id = s.indicator_id AND w.day_start = s.day_start
    )
    UPDATE sighting_work w SET claim = NULL, claim_touches = NULL, lease_until = NULL,
      due = CASE WHEN w.touches = w.claim_touches THEN s.due ELSE w.due END
    FROM s WHERE NOT (s.due IS NULL AND w.touches = w.claim_touches) AND w.indicator_id = s.indicator_id AND w.day_start = s.day_start`.execute(
    tx,
  );
  return own.rows.filter((r) => r.touched).length;
}

/** A waiting report with its family. */
export type FamilyReport = WaitingReport & Family;

/** The families' reports not yet published, locked. */
export async function pendingReports(tx: Transaction<Schema>, fs: readonly Family[]): Promise<FamilyReport[]> {
  if (fs.length === 0) return [];
  const r = await sql<FamilyReport>`SELECT r.indicator_id, ${taxiiTimeOf(sql`r.day_start`)} AS day_start, r.seq::text AS seq, r.org_key,
      r.shareable, ${taxiiTimeOf(sql`r.hour_start`)} AS hour_start, r.hour_start + interval '1 hour' <= clock_timestamp() AS hour_closed
    FROM sighting_reports r WHERE (r.indicator_id, r.day_start) IN (${families(fs)}) AND r.published IS NULL
    ORDER BY r.seq FOR UPDATE OF r`.execute(tx);
  return r.rows;
}

export type BucketSize = 'hour' | 'day';

/** Reports published: into their hour's aggregate (and so their day's), or into their day's only. */
export async function markPublished(tx: Transaction<Schema>, marks: readonly { seq: string; into: BucketSize }[]): Promise<void> {
  if (marks.length === 0) return;
  await sql`UPDATE sighting_reports r SET published = m.into
    FROM jsonb_to_recordset(${JSON.stringify(marks)}::jsonb) AS m(seq bigint, "into" text) WHERE r.seq = m.seq`.execute(tx);
}

/** An aggregate to publish a new version of: its family, bucket, and STIX id. */
export type AggregateKey = { indicator_id: string; day_start: string; bucket_size: BucketSize; bucket_start: string; stix_id: string };

/** What an aggregate says, as published: the figures of everything published in its bucket, and its dates. */
export type AggregateRow = {
  stix_id: string;
  created: string;
  modified: string;
  count: number;
  organisations: number;
  first_seen: string;
  last_seen: string;
};

/**
 * Records a new version of each aggregate, with what this run publishes (`published`: the seqs of
 * the reports markPublished just marked) added to its figures, and returns them. A report adds to
 * its hour's bucket if published into it, and to its day's in any case; its organisation joins
 * the bucket's (sighting_bucket_orgs), which `organisations` counts. Each report is published once
 * (its row locked by pendingReports), so the figures are those of every report published in the
 * bucket, without reading them again. `modified` is the clock, to the millisecond, or one
 * millisecond after the last version when the clock has not passed it (a version must be later
 * than the one before).
 */
export async function recordAggregates(
  tx: Transaction<Schema>,
  keys: readonly AggregateKey[],
  published: readonly string[],
): Promise<AggregateRow[]> {
  if (keys.length === 0) return [];
  const stamp = sql`date_trunc('milliseconds', clock_timestamp())`;
  const ms = (t: string) => sql`to_char(${sql.raw(t)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const buckets = sql`SELECT * FROM jsonb_to_recordset(${JSON.stringify(keys)}::jsonb)
    AS b(indicator_id text, day_start timestamptz, bucket_size text, bucket_start timestamptz, stix_id text)`;
  // The reports this run publishes into each bucket, found by seq: not by family, whose reports are many.
  const added = sql`SELECT b.indicator_id, b.bucket_size, b.bucket_start, b.stix_id, r.count, r.org_key, r.first_seen, r.last_seen
    FROM (SELECT * FROM sighting_reports WHERE seq = ANY(${published}::bigint[])) r
    JOIN (${buckets}) b ON r.indicator_id = b.indicator_id AND r.day_start = b.day_start
      AND CASE WHEN b.bucket_size = 'hour' THEN r.hour_start = b.bucket_start AND r.published = 'hour' ELSE true END`;
  // Organisations first, in a statement of their own: the upsert below counts them.
  await sql`INSERT INTO sighting_bucket_orgs (indicator_id, bucket_size, bucket_start, org_key)
    SELECT DISTINCT a.indicator_id, a.bucket_size, a.bucket_start, a.org_key FROM (${added}) a
    ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING`.execute(tx);
  const r = await sql<AggregateRow>`
    INSERT INTO sighting_aggregates AS a (indicator_id, bucket_size, bucket_start, stix_id, created, modified, count, organisations, first_seen, last_seen)
    SELECT f.indicator_id, f.bucket_size, f.bucket_start, f.stix_id, ${stamp}, ${stamp}, f.count,
      (SELECT count(*)::int FROM sighting_bucket_orgs o
        WHERE o.indicator_id = f.indicator_id AND o.bucket_size = f.bucket_size AND o.bucket_start = f.bucket_start),
      f.first_seen, f.last_seen
    FROM (
      SELECT x.indicator_id, x.bucket_size, x.bucket_start, x.stix_id, sum(x.count) AS count, min(x.first_seen) AS first_seen,
        max(x.last_seen) AS last_seen
      FROM (${added}) x GROUP BY 1, 2, 3, 4
    ) f
    ON CONFLICT (indicator_id, bucket_size, bucket_start) DO UPDATE SET
      modified = greatest(${stamp}, a.modified + interval '1 millisecond'),
      count = a.count + EXCLUDED.count, organisations = EXCLUDED.organisations,
      first_seen = least(a.first_seen, EXCLUDED.first_seen), last_seen = greatest(a.last_seen, EXCLUDED.last_seen)
    RETURNING a.stix_id, ${ms('a.created')} AS created, ${ms('a.modified')} AS modified, a.count::text AS count, a.organisations,
      ${taxiiTimeOf(sql`a.first_seen`)} AS first_seen, ${taxiiTimeOf(sql`a.last_seen`)} AS last_seen`.execute(tx);
  return r.rows.map((row) => ({ ...row, count: Number(row.count) }));
}

/**
 * Locks, shared, the id_levels rows of indicators where they are held: a writer or a delete of one
 * of them locks its row too, so one under way finishes before the run reads again, and one that
 * comes later waits for the run to commit (and then withdraws what it published).
 */
export async function lockHeldIndicators(
  tx: Transaction<Schema>,
  held: readonly { indicator_id: string; collection_id: string }[],
): Promise<void> {
  if (held.length === 0) return;
  await sql`SELECT 1 FROM id_levels l
    WHERE (l.collection_id, l.id) IN (SELECT h.collection_id, h.indicator_id
      FROM jsonb_to_recordset(${JSON.stringify(held)}::jsonb) AS h(indicator_id text, collection_id uuid))
    ORDER BY l.collection_id, l.id FOR SHARE OF l`.execute(tx);
}

/**
 * The collections holding each indicator, each with the strictest level of its versions there
 * (id_levels); those where it is withheld from everyone (DENY), or its latest version is revoked,
 * are left out.
 */
export async function holdingCollections(
  db: Db,
  indicatorIds: readonly string[],
): Promise<{ indicator_id: string; collection_id: string; level: number }[]> {
  if (indicatorIds.length === 0) return [];
  const r = await sql<{ indicator_id: string; collection_id: string; level: number }>`SELECT l.id AS indicator_id,
      l.collection_id::text AS collection_id, l.tlp_level AS level
    FROM id_levels l WHERE l.id IN (${sql.join(indicatorIds)}) AND l.tlp_level < ${sql.lit(DENY)}
      AND EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = l.collection_id AND o.id = l.id AND o.type = 'indicator'
        AND o.latest AND coalesce(o.object->>'revoked', 'false') <> 'true')
    ORDER BY l.id, l.collection_id`.execute(db);
  return r.rows;
}
