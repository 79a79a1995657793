import { sql } from 'kysely';
import type { RawBuilder, Transaction } from 'kysely';
import { FEED_TYPES, feedSource } from '../stix/feed-values.ts';
import type { FeedKind, FeedSource } from '../stix/feed-values.ts';
import type { Db } from './database.ts';
import { rowConditions } from './objects-query.ts';
import type { Schema } from './schema.ts';
import { taxiiTimeOf, versionTimeOf } from './timestamps.ts';
import { referencesVisible } from './visibility.ts';
import { horizon } from './write-horizon.ts';
import { backfillVersions } from './backfill.ts';
import type { QueryAudience } from './visibility.ts';

// Feeds (docs/feeds.md, migration 0011): the values of indicators and SCOs, kept in feed_values
// beside their object versions, and read under exactly the conditions of a TAXII read of latest
// versions: the version is the latest, before the write horizon, at a level the reader may see,
// its references visible (store/objects-query.ts rowConditions, store/visibility.ts).

/** Who reads a feed: the audience as TAXII reads take it, and the collection's container rule. */
export type FeedReader = { collectionId: string; audience: QueryAudience; relaxContainers: boolean };

/** An object version as stored, with what it gives the feeds. */
export type FeedVersion = { id: string; specVersion: string; version: string | null; source: FeedSource };

const FEED_TYPE_LIST = sql.join(FEED_TYPES.map((t) => sql.lit(t)));

/** Does a version of this type ever give feed values? Only those are parsed (feedSource). */
export function mayFeed(type: string): boolean {
  return FEED_TYPES.includes(type);
}

/** What an object version (its JSON as stored) gives the feeds, or undefined. */
export function feedSourceOf(type: string, json: string): FeedSource | undefined {
  if (!mayFeed(type)) return undefined;
  try {
    return feedSource(JSON.parse(json) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** Records the feed values of versions stored before feeds existed (backfillFeeds); a write stores its own in insertObjects. */
export async function insertFeedValues(tx: Transaction<Schema> | Db, collectionId: string, versions: FeedVersion[]): Promise<void> {
  const rows = versions.flatMap((v) =>
    v.source.values.map((x) => [x.kind, x.value, v.id, v.specVersion, v.version, v.source.validUntil, v.source.confidence]),
  );
  if (rows.length === 0) return;
  await sql`INSERT INTO feed_values (collection_id, kind, value, id, spec_version, version_key, valid_until, confidence)
    SELECT ${collectionId}::uuid, r.value->>0, r.value->>1, r.value->>2, r.value->>3,
           coalesce(${versionTimeOf(sql`r.value->>4`)}, '-infinity'), ${versionTimeOf(sql`r.value->>5`)}, (r.value->>6)::smallint
    FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) AS r(value)
    ON CONFLICT DO NOTHING`.execute(tx);
}

/**
 * Counts a change the feeds' ETags cannot see in their rows: a delete, or a raised level of
 * versions already served (withheld from readers who saw them, with nothing new to show).
 */
export async function noteFeedChange(tx: Transaction<Schema> | Db, collectionId: string): Promise<void> {
  await sql`INSERT INTO feed_changes (collection_id, generation, changed_at) VALUES (${collectionId}, 1, clock_timestamp())
    ON CONFLICT (collection_id) DO UPDATE SET generation = feed_changes.generation + 1, changed_at = clock_timestamp()`.execute(tx);
}

/** The object type list of the feeds, for conditions on `objects` elsewhere in the store. */
export function feedTypeCondition(alias: string): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(`${alias}.type`)} IN (${FEED_TYPE_LIST})`;
}

const versionOf = sql`JOIN objects o ON o.collection_id = f.collection_id AND o.id = f.id
  AND o.spec_version = f.spec_version AND o.version_key = f.version_key`;

/** The conditions of a TAXII read of latest versions, on the version (alias `o`) a feed row points at. */
function visible(r: FeedReader): RawBuilder<boolean> {
  return sql<boolean>`o.latest AND ${rowConditions(r.collectionId, { audience: r.audience })} AND ${referencesVisible('o', r.audience, r.relaxContainers)}`;
}

const live = sql<boolean>`(f.valid_until IS NULL OR f.valid_until > now())`;

/** What a feed's ETag and Last-Modified are made of (see services/feeds.ts). */
export type FeedState = {
  added: string | null;
  expired: string | null;
  generation: string;
  changed: string | null;
  /** Before this time every change is visible to this read: the horizon, or now when no writer is in flight. */
  settled: string;
};

/**
 * A few index lookups, never a scan of the list: the newest visible latest version of a feed type
 * (a new, revoked or released object), the latest end of validity that has passed among the
 * visible values (of this kind), and the count of changes the rows cannot show (noteFeedChange).
 */
export async function feedState(db: Db, r: FeedReader, kind: FeedKind | undefined): Promise<FeedState> {
  const ofKind = kind ? sql`AND f.kind = ${kind}` : sql``;
  const res = await sql<FeedState>`SELECT
      (SELECT ${taxiiTimeOf(sql`max(o.date_added)`)} FROM objects o WHERE ${visible(r)} AND ${feedTypeCondition('o')}) AS added,
      (SELECT ${taxiiTimeOf(sql`f.valid_until`)} FROM feed_values f ${versionOf}
        WHERE f.collection_id = ${r.collectionId} ${ofKind} AND f.valid_until IS NOT NULL AND f.valid_until <= now() AND ${visible(r)}
        ORDER BY f.valid_until DESC LIMIT 1) AS expired,
      coalesce((SELECT c.generation FROM feed_changes c WHERE c.collection_id = ${r.collectionId}), 0)::text AS generation,
      (SELECT ${taxiiTimeOf(sql`c.changed_at`)} FROM feed_changes c WHERE c.collection_id = ${r.collectionId}) AS changed,
      ${taxiiTimeOf(sql`least(${horizon(r.collectionId)}, statement_timestamp())`)} AS settled`.execute(db);
  return res.rows[0]!;
}

/** A URL without its scheme (`https://a.example/x` → `a.example/x`): the expression of the index feed_values_url_without_scheme. */
const withoutScheme = sql<string>`regexp_replace(f.value, '^[A-Za-z][A-Za-z0-9+.-]*://', '')`;

/** Where a read of a list stopped: the last feed row it scanned (the table's key within a kind). */
export type FeedPosition = { key: string; value: string; id: string; spec_version: string; version_key: string };

/** A window of feed rows, in key order, each with whether this reader is served it. */
type Scanned = FeedPosition & { shown: boolean };

/** The conditions on a feed row (alias `f`) for this reader: not expired, and its version visible as TAXII reads decide. */
function shown(r: FeedReader): RawBuilder<boolean> {
  return sql<boolean>`(${live} AND EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = f.collection_id AND o.id = f.id
    AND o.spec_version = f.spec_version AND o.version_key = f.version_key AND ${visible(r)}))`;
}

/**
 * The next values of a list after `after` that the reader may see, from a window of `limit` feed
 * rows in key order; URLs without their scheme when `schemeless`. Each read scans exactly its
 * window on an index and checks each row's version by its key: a join left to the planner hashes
 * every later row of the list for each window. A value several objects hold comes in adjacent
 * rows; the caller drops repeats. `next` is undefined once the list is read.
 */
export async function feedValuesAfter(
  db: Db,
  r: FeedReader,
  kind: FeedKind,
  after: FeedPosition | undefined,
  limit: number,
  schemeless = false,
): Promise<{ values: string[]; next: FeedPosition | undefined }> {
  const key = schemeless && kind === 'url' ? withoutScheme : sql<string>`f.value`;
  const order =
    schemeless && kind === 'url'
      ? sql`${key}, f.value, f.id, f.spec_version, f.version_key`
      : sql`f.value, f.id, f.spec_version, f.version_key`;
  const from =
    after === undefined
      ? sql``
      : schemeless && kind === 'url'
        ? sql`AND (${key}, f.value, f.id, f.spec_version, f.version_key) > (${after.key}, ${after.value}, ${after.id}, ${after.spec_version}, ${after.version_key}::timestamptz)`
        : sql`AND (f.value, f.id, f.spec_version, f.version_key) > (${after.value}, ${after.id}, ${after.spec_version}, ${after.version_key}::timestamptz)`;
  const res =
    await sql<Scanned>`SELECT f.key, f.value, f.id, f.spec_version, f.version_key::text AS version_key, ${shown(r)} AS shown FROM (
      SELECT f.*, ${key} AS key FROM feed_values f WHERE f.collection_id = ${r.collectionId} AND f.kind = ${kind} ${from}
      ORDER BY ${order} LIMIT ${limit}
    ) f ORDER BY ${schemeless && kind === 'url' ? sql`f.key, f.value, f.id, f.spec_version, f.version_key` : sql`f.value, f.id, f.spec_version, f.version_key`}`.execute(
      db,
    );
  const values = res.rows.filter((row) => row.shown).map((row) => row.key);
  const last = res.rows.at(-1);
  return { values, next: res.rows.length === limit && last ? { ...last } : undefined };
}

/** A row of the CSV feed: one per value and object. */
export type FeedRow = {
  kind: FeedKind;
  value: string;
  id: string;
  confidence: number | null;
  tlp_level: number;
  valid_until: string | null;
};

/** Where a CSV read stopped: the last feed row it scanned. */
export type FeedRowKey = { kind: FeedKind; value: string; id: string; spec_version: string; version_key: string };

/**
 * The next rows after `after`, by kind, value and object, that the reader may see and that have
 * not expired, from a window of `limit` feed rows (as feedValuesAfter reads). `next` is undefined
 * once the feed is read.
 */
export async function feedRowsAfter(
  db: Db,
  r: FeedReader,
  after: FeedRowKey | undefined,
  limit: number,
): Promise<{ rows: FeedRow[]; next: FeedRowKey | undefined }> {
  const from =
    after === undefined
      ? sql``
      : sql`AND (f.kind, f.value, f.id, f.spec_version, f.version_key) > (${after.kind}, ${after.value}, ${after.id}, ${after.spec_version}, ${after.version_key}::timestamptz)`;
  const res = await sql<FeedRowKey & FeedRow & { shown: boolean }>`
    SELECT f.kind, f.value, f.id, f.spec_version, f.version_key::text AS version_key, f.confidence,
           ${taxiiTimeOf(sql`f.valid_until`)} AS valid_until, v.tlp_level, (${live} AND v.tlp_level IS NOT NULL) AS shown
    FROM (
      SELECT f.* FROM feed_values f WHERE f.collection_id = ${r.collectionId} ${from}
      ORDER BY f.kind, f.value, f.id, f.spec_version, f.version_key LIMIT ${limit}
    ) f LEFT JOIN LATERAL (
      SELECT o.tlp_level FROM objects o WHERE o.collection_id = f.collection_id AND o.id = f.id
        AND o.spec_version = f.spec_version AND o.version_key = f.version_key AND ${visible(r)}
    ) v ON true
    ORDER BY f.kind, f.value, f.id, f.spec_version, f.version_key`.execute(db);
  const last = res.rows.at(-1);
  const rows = res.rows
    .filter((row) => row.shown)
    .map(({ kind, value, id, confidence, tlp_level, valid_until }) => ({ kind, value, id, confidence, tlp_level, valid_until }));
  return {
    rows,
    next:
      res.rows.length === limit && last
        ? { kind: last.kind, value: last.value, id: last.id, spec_version: last.spec_version, version_key: last.version_key }
        : undefined,
  };
}

/**
 * Extracts the feed values of versions stored before feeds existed (migration 0011 leaves a
 * position in node_settings), `batch` versions at a time. Returns how many versions it read.
 */
export function backfillFeeds(db: Db, batch = 1000): Promise<number> {
  return backfillVersions(
    db,
    'feeds_backfill_after',
    feedTypeCondition('o'),
    async (tx, collectionId, rows) => {
      const versions = rows.flatMap((row) => {
        const source = feedSourceOf(row.type, row.json);
        return source ? [{ id: row.id, specVersion: row.spec_version, version: row.version, source }] : [];
      });
      await insertFeedValues(tx, collectionId, versions);
    },
    batch,
  );
}
