import { sql } from 'kysely';
import type { RawBuilder, Transaction } from 'kysely';
import type { Level } from '../policy/levels.ts';
import { DENY } from '../policy/levels.ts';
import type { WaitingReport } from '../policy/sighting-privacy.ts';
import type { Db } from './database.ts';
import type { Schema } from './schema.ts';
import { taxiiTimeOf, versionTimeOf } from './timestamps.ts';
import { levelVisible, referencesVisible } from './visibility.ts';

// Sighting reports and the state of their published aggregates (docs/sightings.md, migration
// 0015). Who reported what is read here only for the admin and the reporter's own organisation.

/** A client as the indicators it may read are looked up for it: its id and the strictest level it may receive. */
export type Reader = { clientId: string; maxLevel: Level };

/** What a report is matched against: observable values (kind and value, as feed_values holds them) or indicator ids. */
export type IndicatorMatch = { values: { kind: string; value: string }[] } | { ids: string[] };

/**
 * The indicators the reader may read that match, one row per indicator id (the first collection
 * by id where it may, or the one given): the latest version, of a collection it holds a read
 * grant on, at a level it may receive (RED where it is a named recipient), its references visible,
 * exactly as a TAXII read decides (store/visibility.ts).
 */
export async function readableIndicators(
  db: Db,
  reader: Reader,
  match: IndicatorMatch,
  collectionId?: string,
): Promise<{ indicator_id: string; collection_id: string }[]> {
  const red = sql<boolean>`EXISTS (SELECT 1 FROM red_recipients x WHERE x.collection_id = o.collection_id AND x.client_id = ${reader.clientId}::uuid)`;
  const audience = { kind: 'client' as const, maxLevel: reader.maxLevel, red };
  const matches =
    'ids' in match
      ? sql`o.id IN (${sql.join(match.ids.length ? match.ids : [''])})`
      : // Looked up by (collection, kind, value), feed_values' key, in each collection the reader may read:
        // by (kind, value) alone PostgreSQL reads every feed value of the node for each report.
        sql`EXISTS (SELECT 1 FROM collection_grants fg
          JOIN feed_values f ON f.collection_id = fg.collection_id
            AND (f.kind, f.value) IN (${sql.join(match.values.length ? match.values.map((m) => sql`(${m.kind}, ${m.value})`) : [sql`('', '')`])})
          WHERE fg.client_id = ${reader.clientId}::uuid AND fg.can_read
            AND f.collection_id = o.collection_id AND f.id = o.id AND f.spec_version = o.spec_version AND f.version_key = o.version_key)`;
  const r = await sql<{ indicator_id: string; collection_id: string }>`
    SELECT DISTINCT ON (o.id) o.id AS indicator_id, o.collection_id::text AS collection_id
    FROM objects o
    JOIN collection_grants g ON g.collection_id = o.collection_id AND g.client_id = ${reader.clientId}::uuid AND g.can_read
    WHERE o.type = 'indicator' AND o.latest AND ${matches}
      ${collectionId === undefined ? sql`` : sql`AND o.collection_id = ${collectionId}::uuid`}
      AND ${levelVisible('o', audience)}
      AND ${referencesVisible('o', audience, sql<boolean>`(SELECT c.relax_container_refs FROM collections c WHERE c.id = o.collection_id)`)}
    ORDER BY o.id, o.collection_id`.execute(db);
  return r.rows;
}

/** A report as recorded; its buckets are those of its last_seen, in UTC. */
export type NewReport = {
  client_id: string;
  organisation: string | null;
  org_key: string;
  indicator_id: string;
  collection_id: string;
  count: number;
  first_seen: string;
  last_seen: string;
  shareable: boolean;
  via: 'api' | 'taxii';
};

/** A report as its reporter's organisation and the admin read it. */
export type ReportRow = NewReport & { id: string; received: string; published: boolean };

const reportColumns = sql`r.seq::text AS id, r.client_id::text AS client_id, r.organisation, r.org_key, r.indicator_id,
  r.collection_id::text AS collection_id, r.count, ${taxiiTimeOf(sql`r.first_seen`)} AS first_seen,
  ${taxiiTimeOf(sql`r.last_seen`)} AS last_seen, r.shareable, r.via, ${taxiiTimeOf(sql`r.received_at`)} AS received,
  r.published IS NOT NULL AS published`;

const utc = (unit: string, t: RawBuilder<unknown>) => sql`date_trunc(${unit}, ${t} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;

/**
 * Records reports and marks their families (indicator and day) due for the aggregation job, in
 * one statement. A family's row is locked by the job while it runs: a report then waits for it
 * here, and lands in its next run (docs/sightings.md, "When").
 */
export async function insertReports(tx: Transaction<Schema> | Db, reports: NewReport[]): Promise<ReportRow[]> {
  if (reports.length === 0) return [];
  const last = versionTimeOf(sql`i.last_seen`);
  const r = await sql<ReportRow>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(reports)}::jsonb) AS i(client_id uuid, organisation text, org_key text,
        indicator_id text, collection_id uuid, count integer, first_seen text, last_seen text, shareable boolean, via text)
    ), r AS (
      INSERT INTO sighting_reports (client_id, organisation, org_key, indicator_id, collection_id, count, first_seen, last_seen,
        shareable, via, hour_start, day_start)
      SELECT i.client_id, i.organisation, i.org_key, i.indicator_id, i.collection_id, i.count, ${versionTimeOf(sql`i.first_seen`)}, ${last},
        i.shareable, i.via, ${utc('hour', last)}, ${utc('day', last)}
      FROM input i
      RETURNING *
    ), work AS (
      INSERT INTO sighting_work (indicator_id, day_start, due)
      SELECT f.indicator_id, f.day_start, clock_timestamp() FROM (SELECT DISTINCT indicator_id, day_start FROM r) f ORDER BY 1, 2
      ON CONFLICT (indicator_id, day_start) DO UPDATE SET due = least(sighting_work.due, EXCLUDED.due)
    )
    SELECT ${reportColumns} FROM r ORDER BY r.seq`.execute(tx);
  return r.rows;
}

/** The latest reports, newest first: of one organisation, or (null) of every one for the admin. */
export async function listReports(db: Db, orgKey: string | null, limit: number): Promise<ReportRow[]> {
  const r = await sql<ReportRow>`SELECT ${reportColumns} FROM sighting_reports r
    ${orgKey === null ? sql`` : sql`WHERE r.org_key = ${orgKey}`}
    ORDER BY r.seq DESC LIMIT ${limit}`.execute(db);
  return r.rows;
}

// ---------------------------------------------------------------------------------------------
// The aggregation job's side.

export type Family = { indicator_id: string; day_start: string };

/** Families whose time has come, oldest first: a peek, taken for real by claimFamily. */
export async function dueFamilies(db: Db, limit: number): Promise<Family[]> {
  const r = await sql<Family>`SELECT indicator_id, ${taxiiTimeOf(sql`day_start`)} AS day_start FROM sighting_work
    WHERE due <= clock_timestamp() ORDER BY due LIMIT ${limit}`.execute(db);
  return r.rows;
}

/** Locks a due family's row for this transaction; false when another replica holds it, or it is gone or not due. */
export async function claimFamily(tx: Transaction<Schema>, f: Family): Promise<boolean> {
  const r = await sql`SELECT 1 FROM sighting_work WHERE indicator_id = ${f.indicator_id} AND day_start = ${f.day_start}::timestamptz
    AND due <= clock_timestamp() FOR UPDATE SKIP LOCKED`.execute(tx);
  return r.rows.length > 0;
}

/** Done with a family: gone, or due again at `due` (the end of an hour whose reports wait). */
export async function settleFamily(tx: Transaction<Schema>, f: Family, due: string | null): Promise<void> {
  const where = sql`indicator_id = ${f.indicator_id} AND day_start = ${f.day_start}::timestamptz`;
  if (due === null) await sql`DELETE FROM sighting_work WHERE ${where}`.execute(tx);
  else await sql`UPDATE sighting_work SET due = ${due}::timestamptz WHERE ${where}`.execute(tx);
}

/** The family's reports not yet published, locked. */
export async function pendingReports(tx: Transaction<Schema>, f: Family): Promise<WaitingReport[]> {
  const r = await sql<WaitingReport>`SELECT seq::text AS seq, org_key, shareable, ${taxiiTimeOf(sql`hour_start`)} AS hour_start,
      hour_start + interval '1 hour' <= clock_timestamp() AS hour_closed
    FROM sighting_reports WHERE indicator_id = ${f.indicator_id} AND day_start = ${f.day_start}::timestamptz AND published IS NULL
    ORDER BY seq FOR UPDATE`.execute(tx);
  return r.rows;
}

export async function markPublished(tx: Transaction<Schema>, seqs: string[], into: 'hour' | 'day'): Promise<void> {
  if (seqs.length === 0) return;
  await sql`UPDATE sighting_reports SET published = ${into} WHERE seq IN (${sql.join(seqs.map((s) => sql`${s}::bigint`))})`.execute(tx);
}

export type BucketSize = 'hour' | 'day';

/** What an aggregate says: the published reports of one bucket. */
export type Figures = { count: number; organisations: number; first_seen: string; last_seen: string };

/** The figures of everything published in a bucket: an hour's 'hour' reports, a day's reports of either kind. */
export async function bucketFigures(tx: Transaction<Schema>, indicatorId: string, size: BucketSize, start: string): Promise<Figures> {
  const where =
    size === 'hour'
      ? sql`hour_start = ${start}::timestamptz AND published = 'hour'`
      : sql`day_start = ${start}::timestamptz AND published IS NOT NULL`;
  const r = await sql<Figures>`SELECT coalesce(sum(count), 0)::bigint::text AS count, count(DISTINCT org_key)::int AS organisations,
      ${taxiiTimeOf(sql`min(first_seen)`)} AS first_seen, ${taxiiTimeOf(sql`max(last_seen)`)} AS last_seen
    FROM sighting_reports WHERE indicator_id = ${indicatorId} AND ${where}`.execute(tx);
  const row = r.rows[0]!;
  return { ...row, count: Number(row.count) };
}

/** An aggregate's identity and dates as published so far. */
export type AggregateKey = { indicator_id: string; bucket_size: BucketSize; bucket_start: string };
export type AggregateRow = AggregateKey & Figures & { stix_id: string; created: string; modified: string };

/**
 * Records a new version of an aggregate: `modified` is the clock, or a millisecond after the last
 * version when the clock has not passed it (a version must be later than the one before).
 */
export async function recordAggregate(tx: Transaction<Schema>, key: AggregateKey, stixId: string, figures: Figures): Promise<AggregateRow> {
  const stamp = sql`date_trunc('milliseconds', clock_timestamp())`;
  const r = await sql<AggregateRow>`
    INSERT INTO sighting_aggregates AS a (indicator_id, bucket_size, bucket_start, stix_id, created, modified, count, organisations, first_seen, last_seen)
    VALUES (${key.indicator_id}, ${key.bucket_size}, ${key.bucket_start}::timestamptz, ${stixId}, ${stamp}, ${stamp}, ${figures.count},
      ${figures.organisations}, ${figures.first_seen}::timestamptz, ${figures.last_seen}::timestamptz)
    ON CONFLICT (indicator_id, bucket_size, bucket_start) DO UPDATE SET
      modified = greatest(${stamp}, a.modified + interval '1 millisecond'),
      count = EXCLUDED.count, organisations = EXCLUDED.organisations, first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen
    RETURNING a.indicator_id, a.bucket_size, ${taxiiTimeOf(sql`a.bucket_start`)} AS bucket_start, a.stix_id,
      to_char(a.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created,
      to_char(a.modified AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS modified,
      a.count::text AS count, a.organisations, ${taxiiTimeOf(sql`a.first_seen`)} AS first_seen, ${taxiiTimeOf(sql`a.last_seen`)} AS last_seen`.execute(
    tx,
  );
  const row = r.rows[0]!;
  return { ...row, count: Number(row.count) };
}

/**
 * The collections holding the indicator, each with the strictest level of its versions there
 * (id_levels); those where it is withheld from everyone (DENY) are left out.
 */
export async function holdingCollections(db: Db, indicatorId: string): Promise<{ collection_id: string; level: number }[]> {
  const r = await sql<{ collection_id: string; level: number }>`SELECT l.collection_id::text AS collection_id, l.tlp_level AS level
    FROM id_levels l WHERE l.id = ${indicatorId} AND l.tlp_level < ${sql.lit(DENY)}
      AND EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = l.collection_id AND o.id = l.id AND o.type = 'indicator'
        AND o.latest AND coalesce(o.object->>'revoked', 'false') <> 'true')
    ORDER BY l.collection_id`.execute(db);
  return r.rows;
}

/**
 * Withdraws from a collection the aggregate sightings (every version, this node's and its peers')
 * of an indicator it no longer holds, in the deleting transaction (docs/sightings.md, "Withdrawn
 * indicators"). Their ids are locked first, as writers lock them, so a version stored meanwhile
 * goes too. Returns how many versions went.
 */
export async function withdrawAggregates(tx: Transaction<Schema>, collectionId: string, indicatorId: string): Promise<number> {
  const ids = await sql<{ id: string }>`SELECT DISTINCT f.id FROM sighting_figures f
    WHERE f.collection_id = ${collectionId}::uuid AND f.indicator_id = ${indicatorId}
      AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = f.collection_id AND o.id = f.indicator_id)
    ORDER BY f.id`.execute(tx);
  if (ids.rows.length === 0) return 0;
  const list = sql.join(ids.rows.map((r) => r.id));
  await sql`SELECT 1 FROM id_levels WHERE collection_id = ${collectionId}::uuid AND id IN (${list}) ORDER BY id FOR UPDATE`.execute(tx);
  const r = await sql`DELETE FROM objects WHERE collection_id = ${collectionId}::uuid AND id IN (${list})`.execute(tx);
  return Number(r.numAffectedRows ?? 0);
}
