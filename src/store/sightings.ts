import { sql } from 'kysely';
import type { RawBuilder, Transaction } from 'kysely';
import type { Level } from '../policy/levels.ts';
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

/** Where an indicator matched: the value (kind and value) that matched it, or null where it was named by id. */
export type ReadableIndicator = { indicator_id: string; collection_id: string; kind: string | null; value: string | null };

/**
 * The indicators the reader may read that match: the latest version, of a collection it holds a
 * read grant on, at a level it may receive (RED where it is a named recipient), its references
 * visible, exactly as a TAXII read decides (store/visibility.ts). Each indicator comes once per id
 * asked for, or once per value that matched it (a batch of reports asks for many at once), in the
 * first collection by id where it may be read, or the one given.
 */
export async function readableIndicators(
  db: Db,
  reader: Reader,
  match: IndicatorMatch,
  collectionId?: string,
): Promise<ReadableIndicator[]> {
  const red = sql<boolean>`EXISTS (SELECT 1 FROM red_recipients x WHERE x.collection_id = o.collection_id AND x.client_id = ${reader.clientId}::uuid)`;
  const audience = { kind: 'client' as const, maxLevel: reader.maxLevel, red };
  const visible = sql`o.type = 'indicator' AND o.latest
      ${collectionId === undefined ? sql`` : sql`AND o.collection_id = ${collectionId}::uuid`}
      AND ${levelVisible('o', audience)}
      AND ${referencesVisible('o', audience, sql<boolean>`(SELECT c.relax_container_refs FROM collections c WHERE c.id = o.collection_id)`)}`;
  const granted = sql`collection_grants g WHERE g.client_id = ${reader.clientId}::uuid AND g.can_read`;
  if ('ids' in match) {
    const r = await sql<ReadableIndicator>`
      SELECT DISTINCT ON (o.id) o.id AS indicator_id, o.collection_id::text AS collection_id, NULL AS kind, NULL AS value
      FROM objects o
      WHERE o.id = ANY(${match.ids}::text[]) AND o.collection_id IN (SELECT g.collection_id FROM ${granted}) AND ${visible}
      ORDER BY o.id, o.collection_id`.execute(db);
    return r.rows;
  }
  // Looked up by (collection, kind, value), feed_values' key, in each collection the reader may read:
  // by (kind, value) alone PostgreSQL reads every feed value of the node for each report.
  const r = await sql<ReadableIndicator>`
    SELECT DISTINCT ON (f.kind, f.value, o.id) o.id AS indicator_id, o.collection_id::text AS collection_id, f.kind, f.value
    FROM (SELECT g.collection_id FROM ${granted}) g
    JOIN feed_values f ON f.collection_id = g.collection_id
      AND (f.kind, f.value) IN (SELECT * FROM unnest(${match.values.map((m) => m.kind)}::text[], ${match.values.map((m) => m.value)}::text[]))
    JOIN objects o ON o.collection_id = f.collection_id AND o.id = f.id AND o.spec_version = f.spec_version AND o.version_key = f.version_key
    WHERE ${visible}
    ORDER BY f.kind, f.value, o.id, o.collection_id`.execute(db);
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
 * Records reports, returned in the order given, and marks their families (indicator and day) due for the aggregation job, in
 * one statement. A report never waits for a run of the job under way: it counts itself on its
 * family's row, and the family stays due for the next run (docs/sightings.md, "When").
 */
export async function insertReports(tx: Transaction<Schema> | Db, reports: NewReport[]): Promise<ReportRow[]> {
  if (reports.length === 0) return [];
  const last = versionTimeOf(sql`i.last_seen`);
  const r = await sql<ReportRow>`
    WITH input AS (
      SELECT * FROM ROWS FROM (jsonb_to_recordset(${JSON.stringify(reports)}::jsonb) AS (client_id uuid, organisation text,
        org_key text, indicator_id text, collection_id uuid, count integer, first_seen text, last_seen text, shareable boolean,
        via text)) WITH ORDINALITY AS i(client_id, organisation, org_key, indicator_id, collection_id, count, first_seen, last_seen,
        shareable, via, n)
    ), r AS (
      INSERT INTO sighting_reports (client_id, organisation, org_key, indicator_id, collection_id, count, first_seen, last_seen,
        shareable, via, hour_start, day_start)
      SELECT i.client_id, i.organisation, i.org_key, i.indicator_id, i.collection_id, i.count, ${versionTimeOf(sql`i.first_seen`)}, ${last},
        i.shareable, i.via, ${utc('hour', last)}, ${utc('day', last)}
      FROM input i
      -- In the order given: seq is drawn above the sort, so the rows come back as the reports were passed.
      ORDER BY i.n
      RETURNING *
    ), work AS (
      INSERT INTO sighting_work (indicator_id, day_start, due)
      SELECT f.indicator_id, f.day_start, clock_timestamp() FROM (SELECT DISTINCT indicator_id, day_start FROM r) f ORDER BY 1, 2
      -- touches: tells the aggregation job, which claimed the row without holding it, that it may not have seen this report.
      ON CONFLICT (indicator_id, day_start) DO UPDATE SET due = least(sighting_work.due, EXCLUDED.due), touches = sighting_work.touches + 1
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
