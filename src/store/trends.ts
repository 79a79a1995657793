import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Level } from '../policy/levels.ts';
import { PREPARED } from './database.ts';
import type { Db } from './database.ts';
import { taxiiTimeOf } from './timestamps.ts';
import { levelVisible, referencesApply, referencesVisible } from './visibility.ts';
import type { QueryAudience } from './visibility.ts';
import { horizon } from './write-horizon.ts';

// Trends (docs/sightings.md, "Trends"): the aggregates a reader may count, read from
// sighting_figures under the conditions of a TAXII read of latest versions of the version each row
// points at (store/objects-query.ts, store/visibility.ts), checked on the row's copy of that
// version's columns (migration 0018), in every collection the reader may read;
// the same aggregate (one STIX id) held in several collections, or in several versions, counts once,
// at its latest version (docs/sightings.md, "Federation").

/**
 * Who counts: the admin (clientId null: every collection) or a client (the collections it may
 * read). `maxLevel` 'any' is the admin's own view; otherwise the strictest level counted, with RED
 * where the client is a named recipient ('named'), everywhere ('always', the admin asking up to
 * RED), or nowhere ('never').
 */
export type TrendsReader = { clientId: string | null; maxLevel: Level | 'any'; red: 'named' | 'always' | 'never' };

export type BucketSize = 'hour' | 'day';

/** The current window [current, end) and the previous [previous, current), in buckets of `size`. */
export type TrendWindow = { size: BucketSize; previous: string; current: string; end: string };

export type TrendType = 'indicator' | 'malware' | 'attack-pattern';

export type TrendQuery = { window: TrendWindow; type: TrendType; label?: string | undefined; rising: boolean; limit: number };

export type TrendRow = {
  id: string;
  name: string | null;
  labels: string[] | null;
  sightings: number;
  previous: number;
  growth: number;
  /** The nodes whose aggregates count in the current window. */
  nodes: number;
  /** For malware and attack patterns: the indicators through which they were sighted in the current window. */
  indicators: number | null;
};

export type SeriesRow = { start: string; sightings: number; nodes: number };

/** `redOf`: the row (of `readable` or carrying its `red`) whose RED naming counts. */
function audienceOf(r: TrendsReader, redOf = 'c'): QueryAudience {
  if (r.maxLevel === 'any') return { kind: 'admin' };
  const red = r.red === 'named' ? sql<boolean>`${sql.ref(`${redOf}.red`)}` : r.red === 'always';
  return { kind: 'client', maxLevel: r.maxLevel, red };
}

/**
 * The collections the reader may read (alias `c`), each with its RED naming, container rule and
 * write horizon. `horizon` false: every committed version counts (the alert matcher, which reads
 * each stored batch after its commit, must not pass over it while another writer is in flight).
 */
function readable(r: TrendsReader, horizonApplies = true): RawBuilder<unknown> {
  const red =
    r.clientId === null
      ? sql`false`
      : sql`EXISTS (SELECT 1 FROM red_recipients x WHERE x.collection_id = c.id AND x.client_id = ${r.clientId}::uuid)`;
  const grant =
    r.clientId === null
      ? sql``
      : sql`JOIN collection_grants g ON g.collection_id = c.id AND g.client_id = ${r.clientId}::uuid AND g.can_read`;
  const limit = horizonApplies ? horizon(sql.ref('c.id')) : sql`'infinity'::timestamptz`;
  return sql`SELECT c.id, ${red} AS red, c.relax_container_refs, ${limit} AS horizon FROM collections c ${grant}`;
}

/** The conditions of a TAXII read of latest versions on a row (alias `o`) of a readable collection (alias `c`). */
function visible(r: TrendsReader, alias = 'o'): RawBuilder<boolean> {
  const audience = audienceOf(r);
  const o = (col: string) => sql.ref(`${alias}.${col}`);
  return sql<boolean>`${o('latest')} AND ${o('date_added')} < c.horizon AND ${levelVisible(alias, audience)}
    AND ${referencesVisible(alias, audience, sql<boolean>`c.relax_container_refs`)}`;
}

/** Where the references rule of a TAXII read applies to a row (alias `f`) of a collection (alias `c`): never for the admin. */
function refsApply(r: TrendsReader): RawBuilder<boolean> {
  if (r.maxLevel === 'any') return sql<boolean>`false`;
  return referencesApply('f', sql<boolean>`c.relax_container_refs`);
}

/**
 * The aggregates counted in [from, to), as the CTE `counted`: per aggregate id, its latest version
 * among those the reader may read, wherever it is held. `indicator` narrows them to one
 * indicator's. Read from the window's latest figures alone, with their copy of their version's
 * read conditions (migration 0018). The conditions that look up other objects (the indicator held
 * in the collection, its latest version not revoked: docs/sightings.md, "Withdrawn indicators";
 * the references visible) are looked up once per object pointed at, in one lookup of its rows,
 * and kept per collection as jsonb key sets: each row is checked by key, whatever join the read
 * sessions' generic plans (which expect a handful of rows) would pick. A collection holds one
 * latest version per id, so only aggregates from several collections need the sort to one per id.
 */
function counted(r: TrendsReader, size: BucketSize, from: string, to: string, indicator?: string): RawBuilder<unknown> {
  const audience = audienceOf(r);
  return sql`figures AS MATERIALIZED (
      SELECT f.collection_id, f.id, f.version_key, f.indicator_id, f.bucket_start, f.count, f.organisations, f.origin_node,
        f.ref_ids, c.red, ${refsApply(r)} AS refs_apply
      FROM readable c
      JOIN sighting_figures f ON f.collection_id = c.id
      WHERE f.latest AND f.bucket_size = ${size} AND f.bucket_start >= ${from}::timestamptz AND f.bucket_start < ${to}::timestamptz
        ${indicator === undefined ? sql`` : sql`AND f.indicator_id = ${indicator}`}
        AND f.date_added < c.horizon AND ${levelVisible('f', audience)}
    ),
    pointed AS MATERIALIZED (
      SELECT p.collection_id, p.id, o.held, o.visible
      FROM (
        SELECT DISTINCT f.collection_id, f.red, f.indicator_id AS id FROM figures f
        UNION ALL
        SELECT DISTINCT f.collection_id, f.red, x.id FROM figures f CROSS JOIN LATERAL unnest(f.ref_ids) AS x(id)
        WHERE f.refs_apply AND x.id <> f.indicator_id
      ) p
      CROSS JOIN LATERAL (
        SELECT coalesce(bool_or(i.latest AND i.type = 'indicator' AND coalesce(i.object->>'revoked', 'false') <> 'true'), false) AS held,
          coalesce(bool_and(${levelVisible('i', audienceOf(r, 'p'))}), true) AS visible
        FROM objects i WHERE i.collection_id = p.collection_id AND i.id = p.id
      ) o
    ),
    checks AS MATERIALIZED (
      SELECT p.collection_id, coalesce(jsonb_object_agg(p.id, true) FILTER (WHERE p.held), '{}') AS held,
        coalesce(jsonb_object_agg(p.id, true) FILTER (WHERE NOT p.visible), '{}') AS hidden
      FROM pointed p GROUP BY p.collection_id
    ),
    passing AS NOT MATERIALIZED (
      SELECT f.id, f.version_key, f.indicator_id, f.bucket_start, f.count, f.organisations, f.origin_node
      FROM figures f JOIN checks k ON k.collection_id = f.collection_id
      WHERE k.held ? f.indicator_id AND NOT (f.refs_apply AND k.hidden ?| f.ref_ids)
    ),
    counted AS (
      SELECT p.id, p.indicator_id, p.bucket_start, p.count, p.organisations, p.origin_node FROM passing p
      WHERE (SELECT count(*) FROM checks) <= 1
      UNION ALL
      (SELECT DISTINCT ON (p.id) p.id, p.indicator_id, p.bucket_start, p.count, p.organisations, p.origin_node FROM passing p
        WHERE (SELECT count(*) FROM checks) > 1
        ORDER BY p.id, p.version_key DESC)
    )`;
}

/** The latest version of an object the reader may read (its name and labels), alias `d`, for ids in `ids.id`. */
const described = (r: TrendsReader, ids: string) => sql`LEFT JOIN LATERAL (
    SELECT o.object->>'name' AS name, o.object->'labels' AS labels FROM readable c
    JOIN objects o ON o.collection_id = c.id AND o.id = ${sql.ref(`${ids}.id`)}
    WHERE ${visible(r)} ORDER BY o.version_key DESC LIMIT 1
  ) d ON true`;

/** Growth against the previous window, of a row (alias `t`) with `sightings` and `previous`: docs/sightings.md, "Trends". */
const growthOf = (t: string) =>
  sql`(${sql.ref(`${t}.sightings`)} - ${sql.ref(`${t}.previous`)})::float8 / greatest(${sql.ref(`${t}.previous`)}, 1)`;
/** Rising: grew against the previous window (growth above 0). */
const risingOf = (t: string) => sql<boolean>`${sql.ref(`${t}.sightings`)} > ${sql.ref(`${t}.previous`)}`;

/**
 * The ranking of a window: indicators by their aggregates, or malware and attack patterns by the
 * aggregates of the indicators that `indicates` them (STIX 2.1 §4.1), through relationships the
 * reader may read; an aggregate counts once for a target however many relationships lead to it.
 */
export async function rankTrends(db: Db, r: TrendsReader, q: TrendQuery): Promise<TrendRow[]> {
  const w = q.window;
  const cur = sql`k.bucket_start >= ${w.current}::timestamptz`;
  const sums = sql`coalesce(sum(k.count) FILTER (WHERE ${cur}), 0)::bigint AS sightings,
    coalesce(sum(k.count) FILTER (WHERE NOT ${cur}), 0)::bigint AS previous,
    count(DISTINCT k.origin_node) FILTER (WHERE ${cur})::int AS nodes`;
  const totals =
    q.type === 'indicator'
      ? // Per publishing node first: its nodes are then counted without a distinct sort per indicator.
        sql`SELECT n.indicator_id AS id, coalesce(sum(n.sightings), 0)::bigint AS sightings, coalesce(sum(n.previous), 0)::bigint AS previous,
            count(n.origin_node) FILTER (WHERE n.sightings IS NOT NULL)::int AS nodes, NULL::int AS indicators
          FROM (
            SELECT k.indicator_id, k.origin_node, sum(k.count) FILTER (WHERE ${cur}) AS sightings, sum(k.count) FILTER (WHERE NOT ${cur}) AS previous
            FROM counted k GROUP BY k.indicator_id, k.origin_node
          ) n
          GROUP BY n.indicator_id`
      : sql`SELECT l.target_id AS id, ${sums}, count(DISTINCT k.indicator_id) FILTER (WHERE ${cur})::int AS indicators
          FROM (
            SELECT DISTINCT o.object->>'source_ref' AS indicator_id, o.object->>'target_ref' AS target_id
            FROM readable c JOIN objects o ON o.collection_id = c.id
            WHERE o.type = 'relationship' AND o.ref_ids && ARRAY(SELECT DISTINCT k.indicator_id FROM counted k)
              AND o.object->>'relationship_type' = 'indicates' AND starts_with(o.object->>'target_ref', ${`${q.type}--`})
              AND starts_with(o.object->>'source_ref', 'indicator--') AND coalesce(o.object->>'revoked', 'false') <> 'true'
              AND ${visible(r)}
          ) l JOIN counted k ON k.indicator_id = l.indicator_id
          GROUP BY l.target_id`;
  const growth = growthOf('t');
  const order = sql`${q.rising ? sql`${growth} DESC, t.sightings DESC` : sql`t.sightings DESC, ${growth} DESC`}, t.id`;
  // Without a label to filter by, only the ranked rows are described.
  const ranked = sql`SELECT t.* FROM (${totals}) t WHERE ${q.rising ? risingOf('t') : sql`t.sightings > 0`}
    ${q.label === undefined ? sql`ORDER BY ${order} LIMIT ${q.limit}` : sql``}`;
  const res = await sql<Omit<TrendRow, 'sightings' | 'previous'> & { sightings: string; previous: string }>`${sql.raw(PREPARED)}
    WITH readable AS MATERIALIZED (${readable(r)}),
    ${counted(r, w.size, w.previous, w.end)}
    SELECT t.id, d.name, d.labels, t.sightings::text AS sightings, t.previous::text AS previous, ${growth} AS growth, t.nodes, t.indicators
    FROM (${ranked}) t ${described(r, 't')}
    ${q.label === undefined ? sql`` : sql`WHERE coalesce(d.labels, '[]'::jsonb) ? ${q.label}`}
    ORDER BY ${order}
    LIMIT ${q.limit}`.execute(db);
  return res.rows.map((row) => ({ ...row, sightings: Number(row.sightings), previous: Number(row.previous) }));
}

/**
 * One indicator's sightings per bucket of [from, to) (buckets without any left out), or undefined
 * when the reader may read no version of the indicator: answered as one that does not exist.
 */
export async function indicatorSeries(
  db: Db,
  r: TrendsReader,
  indicatorId: string,
  size: BucketSize,
  from: string,
  to: string,
): Promise<{ name: string | null; buckets: SeriesRow[] } | undefined> {
  const res = await sql<{ name: string | null; start: string | null; sightings: string | null; nodes: number | null }>`${sql.raw(PREPARED)}
    WITH readable AS MATERIALIZED (${readable(r)}),
    ${counted(r, size, from, to, indicatorId)},
    series AS (
      SELECT k.bucket_start, sum(k.count)::bigint AS sightings, count(DISTINCT k.origin_node)::int AS nodes FROM counted k GROUP BY 1
    )
    SELECT d.name, ${taxiiTimeOf(sql`s.bucket_start`)} AS start, s.sightings::text AS sightings, s.nodes
    FROM (SELECT ${indicatorId}::text AS id) i ${described(r, 'i')}
    LEFT JOIN series s ON true
    WHERE EXISTS (SELECT 1 FROM readable c JOIN objects o ON o.collection_id = c.id AND o.id = i.id
      WHERE o.type = 'indicator' AND ${visible(r)})
    ORDER BY s.bucket_start`.execute(db);
  const first = res.rows[0];
  if (!first) return undefined;
  return {
    name: first.name,
    buckets: res.rows.flatMap((row) =>
      row.start === null ? [] : [{ start: row.start, sightings: Number(row.sightings), nodes: row.nodes! }],
    ),
  };
}

/** An indicator's figures in a window, as GET /trends counts them for the reader, and its organisations. */
export type IndicatorWindow = {
  sightings: number;
  previous: number;
  growth: number;
  rising: boolean;
  /** Summed over the aggregates counted in the current window: different nodes' have disjoint organisations. */
  organisations: number;
  nodes: number;
};

/**
 * One indicator's figures in a window (early warning on trends, docs/early-warning.md), with
 * `trigger`: whether the reader may count an aggregate version of it stored in that collection in
 * that range of date_added (an alert never fires on a version its subscriber may not read).
 * Committed versions count whatever the write horizon (see `readable`).
 */
export async function indicatorWindow(
  db: Db,
  r: TrendsReader,
  indicatorId: string,
  w: TrendWindow,
  trigger: { collectionId: string; first: string; last: string },
): Promise<(IndicatorWindow & { triggered: boolean }) | undefined> {
  const cur = sql`k.bucket_start >= ${w.current}::timestamptz`;
  const res = await sql<IndicatorWindow & { sightings: string; previous: string; organisations: string; triggered: boolean }>`
    WITH readable AS MATERIALIZED (${readable(r, false)}),
    ${counted(r, w.size, w.previous, w.end, indicatorId)},
    t AS (
      SELECT coalesce(sum(k.count) FILTER (WHERE ${cur}), 0)::bigint AS sightings,
        coalesce(sum(k.count) FILTER (WHERE NOT ${cur}), 0)::bigint AS previous,
        coalesce(sum(k.organisations) FILTER (WHERE ${cur}), 0)::bigint AS organisations,
        count(DISTINCT k.origin_node) FILTER (WHERE ${cur})::int AS nodes
      FROM counted k
    )
    SELECT t.sightings::text AS sightings, t.previous::text AS previous, ${growthOf('t')} AS growth, ${risingOf('t')} AS rising,
      t.organisations::text AS organisations, t.nodes,
      EXISTS (SELECT 1 FROM readable c
        JOIN sighting_figures f ON f.collection_id = c.id
        WHERE c.id = ${trigger.collectionId}::uuid AND f.indicator_id = ${indicatorId} AND f.bucket_size = ${w.size}
          AND f.bucket_start = ${w.current}::timestamptz
          AND f.date_added BETWEEN ${trigger.first}::timestamptz AND ${trigger.last}::timestamptz AND ${visible(r, 'f')}) AS triggered
    FROM t`.execute(db);
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    ...row,
    sightings: Number(row.sightings),
    previous: Number(row.previous),
    organisations: Number(row.organisations),
  };
}
