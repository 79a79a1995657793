import { sql } from 'kysely';
import type { RawBuilder, Transaction } from 'kysely';
import type { Schema } from './schema.ts';
import { PREPARED } from './database.ts';
import { accessRow, accessSelect } from './collections.ts';
import type { CollectionAccessRow } from './collections.ts';
import { laterVersion, objectsWhere, readsLatest, rowConditions } from './objects-query.ts';
import { allVersionsPage, readsAllVersions } from './objects-all-versions.ts';
import { referencesVisible } from './visibility.ts';
import { AMBER, CLEAR, DENY } from '../policy/levels.ts';
import { taxiiTime, taxiiTimeOf, versionTimeOf } from './timestamps.ts';
import { waitingFor } from './waiting.ts';
import { executeCached } from './statement-cache.ts';
import type { StatementValues } from './statement-cache.ts';
import { feedSourceOf, feedTypeCondition, noteFeedChange } from './feeds.ts';
import { figuresOf, insertSightingFigures } from './sighting-figures.ts';
import type { FigureVersion } from './sighting-figures.ts';
import type { FeedSource } from '../stix/feed-values.ts';
import type { ObjectFilters } from './objects-query.ts';

import type { Db } from './database.ts';

export type { Db };

/** One stored object version as read for a page: the object stays JSON text, never parsed. */
export type ObjectRow = {
  date_added: string;
  id: string;
  spec_version: string;
  version: string;
  /** The TLP level it was served at (for the audit). */
  level: number;
  origin_node: string | null;
  origin_signature: string | null;
  json: string;
};

export type ManifestRow = Omit<ObjectRow, 'json' | 'level' | 'origin_node' | 'origin_signature'>;

const versionText = sql<string>`coalesce(o.version, ${taxiiTime('o.version_at')})`;
const dateAddedText = taxiiTime('o.date_added');

/**
 * The date_added of the `size`-th row after `f.after` that passes the row conditions, or
 * undefined when fewer remain: an index-only walk that bounds the next query's range.
 */
async function windowEnd(db: Db, collectionId: string, f: ObjectFilters, size: number): Promise<string | undefined> {
  const r = await sql<{ end: string }>`
    SELECT ${dateAddedText} AS end FROM objects o
    WHERE ${rowConditions(collectionId, f)} ORDER BY o.date_added OFFSET ${size - 1} LIMIT 1`.execute(db);
  return r.rows[0]?.end;
}

/**
 * A keyset page in date_added order, asking for one row more than `limit` so `more` is exact.
 * Other version rules are correlated subqueries the planner cannot estimate; left alone it may
 * fetch and sort every later row of the collection. So such a page is read window by window,
 * each window a bounded date_added range found on the index: a page costs the same at 10,000
 * and at 1,000,000 stored objects.
 */
async function pageOf<T extends { date_added: string }>(
  db: Db,
  collectionId: string,
  f: ObjectFilters,
  limit: number,
  columns: RawBuilder<unknown>,
): Promise<T[]> {
  const want = limit + 1;
  if (readsLatest(f)) {
    // One walk of the partial index of latest versions, in date_added order: the rows it skips
    // (another level, a withheld reference) cost an index entry, not a comparison of versions.
    const r = await sql<T>`${sql.raw(PREPARED)}
      SELECT ${columns} FROM objects o
      WHERE ${rowConditions(collectionId, f)} AND o.latest AND ${referencesVisible('o', f.audience, f.relaxContainers ?? false)}
      ORDER BY o.date_added LIMIT ${want}`.execute(db);
    return r.rows;
  }
  if (readsAllVersions(f) && !db.isTransaction) return allVersionsPage<T>(db, collectionId, f, limit, columns);
  const size = Math.max(2 * want, 1000);
  const rows: T[] = [];
  let after = f.after;
  for (;;) {
    const window = { ...f, after };
    const until = await windowEnd(db, collectionId, window, size);
    const r = await sql<T>`
      SELECT ${columns} FROM objects o WHERE ${objectsWhere(collectionId, window, until)}
      ORDER BY o.date_added LIMIT ${want - rows.length}`.execute(db);
    rows.push(...r.rows);
    if (rows.length >= want || until === undefined) return rows;
    after = until;
  }
}

const objectColumns = sql`${dateAddedText} AS date_added, o.id, o.spec_version, ${versionText} AS version, o.tlp_level AS level, o.origin_node, o.origin_signature, o.object::text AS json`;
const manifestColumns = sql`${dateAddedText} AS date_added, o.id, o.spec_version, ${versionText} AS version`;

export async function selectObjects(db: Db, collectionId: string, f: ObjectFilters, limit: number): Promise<ObjectRow[]> {
  return pageOf<ObjectRow>(db, collectionId, f, limit, objectColumns);
}

export async function selectManifest(db: Db, collectionId: string, f: ObjectFilters, limit: number): Promise<ManifestRow[]> {
  return pageOf<ManifestRow>(db, collectionId, f, limit, manifestColumns);
}

/** How a reader's right to read a collection shows in its access row (see decideAccess). */
export type ReadRight = 'admin' | 'public' | 'grant';

/** The access row's conditions a read's filters may use, before the caller's rights are known. */
export type AccessRefs = { red: RawBuilder<boolean>; relaxContainers: RawBuilder<boolean> };

export type PageWithAccess<T> = { access: CollectionAccessRow | undefined; rows: T[] };

/**
 * The caller's access row (accessSelect) and, where it may read, a page of latest versions, in
 * one statement: a poll costs one round trip after authentication. The caller decides on the
 * access row as it would alone; the page is empty whenever the right is missing.
 */
async function latestPageWithAccess<T extends { date_added: string }>(
  db: Db,
  who: { apiRoot: string; collectionId: string; clientId: string | null; right: ReadRight },
  filtersFor: (acc: AccessRefs) => ObjectFilters,
  limit: number,
  columns: RawBuilder<unknown>,
): Promise<PageWithAccess<T>> {
  const f = filtersFor({ red: sql<boolean>`acc.red`, relaxContainers: sql<boolean>`acc.relax_container_refs` });
  if (!readsLatest(f)) throw new Error('latestPageWithAccess reads latest versions only');
  const right = { admin: sql`acc.id IS NOT NULL`, public: sql`acc.public`, grant: sql`coalesce(acc.can_read, false)` }[who.right];
  // The access row rides on the page's first row only (n = 1), or alone when the page is empty.
  const r = await sql<T & { access: string }>`${sql.raw(PREPARED)}
    WITH acc AS MATERIALIZED (${accessSelect(who.apiRoot, who.collectionId, who.clientId)})
    SELECT CASE WHEN coalesce(p.n, 1) = 1 THEN to_json(acc)::text END AS access, p.* FROM acc LEFT JOIN LATERAL (
      SELECT ${columns}, row_number() OVER (ORDER BY o.date_added) AS n FROM objects o
      WHERE ${right} AND ${rowConditions(who.collectionId, f)} AND o.latest AND ${referencesVisible('o', f.audience, f.relaxContainers ?? false)}
      ORDER BY o.date_added LIMIT ${limit + 1}
    ) p ON true`.execute(db);
  const first = r.rows[0];
  if (!first) return { access: undefined, rows: [] };
  const access = accessRow(JSON.parse(first.access) as Record<string, unknown>);
  return { access, rows: first.date_added === null ? [] : r.rows };
}

export function selectObjectsWithAccess(
  db: Db,
  who: Parameters<typeof latestPageWithAccess>[1],
  filtersFor: (acc: AccessRefs) => ObjectFilters,
  limit: number,
): Promise<PageWithAccess<ObjectRow>> {
  return latestPageWithAccess<ObjectRow>(db, who, filtersFor, limit, objectColumns);
}

/**
 * Objects per chunk of a page's text. 50 objects of the usual 1-2 KB stay under V8's
 * large-object size (128 KB): a page's text is then young garbage that a scavenge frees. One
 * string per page went to the large-object space, which only a full collection frees: a
 * 200,000-object read grew the node by 100 MB of dead pages.
 */
export const PAGE_CHUNK = 50;

/**
 * A page of latest versions as PostgreSQL renders it: the served objects' JSON texts joined
 * with commas in chunks of PAGE_CHUNK, its first and last date_added, how many rows matched (up
 * to limit + 1: `more`), the TLP level of each served object (for the metrics and the audit),
 * and for peers each version's origin record as JSON text. A 1,000-object page is twenty rows of
 * a chunk each, not 1,000 rows: the node parses almost nothing and joins nothing.
 */
export type ObjectsText = {
  fetched: number;
  first: string | null;
  last: string | null;
  /** The served objects' JSON, comma-joined within each chunk, chunks in page order. */
  objects: string[];
  /** How many served objects are at each TLP level. */
  levels: Map<number, number>;
  /** Comma-joined `{"id","version","node","signature"}` records by chunk; empty unless asked for. */
  origins: string[];
};

/**
 * A row of the page statement: the access row, and one chunk of the page (none when it is
 * empty). Chunk -1 is the row past the limit, which only tells that there is more.
 */
type PageRow = {
  access: string;
  proven: boolean;
  chunk: number | null;
  fetched: number | null;
  first: string | null;
  last: string | null;
  /** The chunk's TLP levels, a digit each (levels are 0 to 5): no array for the node to parse. */
  levels: string | null;
  objects: string | null;
  origins: string | null;
};

type Reader = Parameters<typeof latestPageWithAccess>[1];

/**
 * What the page statement's text depends on: the right it checks, the audience, which filters
 * are given, origins or not, a proof or not, the audit or not (executeCached adds the lists' lengths).
 */
function pageShape(who: Reader, f: ObjectFilters, withOrigins: boolean, proven: boolean, audited: boolean): string {
  const a = f.audience;
  const audience = [
    a.kind,
    'maxLevel' in a ? a.maxLevel : null,
    'amber' in a ? a.amber : null,
    'red' in a ? (typeof a.red === 'boolean' ? a.red : 'in the query') : null,
  ];
  return JSON.stringify([
    'objects-text',
    who.right,
    who.clientId === null,
    audience,
    typeof f.relaxContainers,
    !!f.after,
    withOrigins,
    proven,
    audited,
  ]);
}

/**
 * A client's row as a request's token was last seen to name it (services/client-hints.ts): the
 * page statement serves only if the clients row still says all of it, in the page's own snapshot.
 */
export type ClientProof = { tokenHash: Buffer; name: string; clearance: number; ownOrg: boolean; peerAmber: boolean };

/** The CTE `token`: whether the clients row still matches the proof. */
function provenCte(v: StatementValues) {
  return sql`, token AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM clients k WHERE k.token_hash = decode(${v.tokenHash}, 'hex')
    AND k.id = ${v.clientId}::uuid AND k.kind = 'client' AND k.name = ${v.name} AND k.clearance = ${v.clearance}::smallint
    AND k.own_org = ${v.ownOrg}::boolean AND k.peer_amber = ${v.peerAmber}::boolean) AS proven)`;
}

/**
 * The CTE `audit`: a page with content at AMBER or above is recorded in the statement that reads
 * it (services/audit.ts says what is recorded), committed with it, in no extra round trip.
 */
function auditCte(v: StatementValues) {
  return sql`, audit AS (INSERT INTO deliveries (recipient, collection_id, first_date_added, last_date_added, object_count, max_level)
    SELECT ${v.recipient}, ${v.collectionId}::uuid, min(p.first_at), max(p.last_at), sum(p.fetched), max(p.max_level) FROM p
    WHERE p.chunk >= 0 HAVING max(p.max_level) >= ${sql.lit(AMBER)})`;
}

/**
 * The caller's access row and a page of latest versions as text (ObjectsText), in one statement.
 * `audit`: the statement also records the page in the audit, as recordDelivery would (only on the
 * primary: a standby takes no writes).
 */
export async function selectObjectsTextWithAccess(
  db: Db,
  who: Reader,
  filtersFor: (acc: AccessRefs) => ObjectFilters,
  limit: number,
  withOrigins: boolean,
  proof?: ClientProof,
  audit?: { recipient: string },
): Promise<{ access: CollectionAccessRow | undefined; page: ObjectsText | undefined; proven: boolean }> {
  const f = filtersFor({ red: sql<boolean>`acc.red`, relaxContainers: sql<boolean>`acc.relax_container_refs` });
  if (!readsLatest(f)) throw new Error('selectObjectsTextWithAccess reads latest versions only');
  if (proof && who.clientId === null) throw new Error('a proof names a client');
  const values: StatementValues = { apiRoot: who.apiRoot, collectionId: who.collectionId, limit: String(limit), fetch: String(limit + 1) };
  if (who.clientId !== null) values.clientId = who.clientId;
  if (proof) {
    values.tokenHash = proof.tokenHash.toString('hex');
    values.name = proof.name;
    values.clearance = String(proof.clearance);
    values.ownOrg = String(proof.ownOrg);
    values.peerAmber = String(proof.peerAmber);
  }
  if (audit) values.recipient = audit.recipient;
  if (f.after) values.after = f.after;
  if (f.ids?.length) values.ids = f.ids;
  if (f.types?.length) values.types = f.types;
  const r = await executeCached(db, pageShape(who, f, withOrigins, !!proof, !!audit), values, (v) => {
    const vf: ObjectFilters = {
      ...f,
      after: v.after as string | undefined,
      ids: v.ids as string[] | undefined,
      types: v.types as string[] | undefined,
    };
    const collectionId = v.collectionId as string;
    const right = { admin: sql`acc.id IS NOT NULL`, public: sql`acc.public`, grant: sql`coalesce(acc.can_read, false)` }[who.right];
    const originColumns = withOrigins ? sql`, o.id, ${versionText} AS version, o.origin_node, o.origin_signature` : sql``;
    const origins = withOrigins
      ? sql`string_agg(json_build_object('id', m.id, 'version', m.version, 'node', m.origin_node, 'signature', m.origin_signature)::text, ',' ORDER BY m.n)
          FILTER (WHERE m.n <= ${v.limit} AND m.origin_node IS NOT NULL AND m.origin_signature IS NOT NULL)`
      : sql`NULL::text`;
    const tokenJoin = proof ? sql`CROSS JOIN token` : sql``;
    // Grouped by chunk, each chunk's texts in page order (string_agg's ORDER BY): one aggregate a
    // row. A column per chunk, each aggregate filtering every row, cost PostgreSQL a millisecond
    // more on a 1,000-object page. Row limit + 1 only tells whether there is more. A token's
    // proof, when there is one, gates the page as the right does: an unproven one reads nothing.
    return sql<PageRow>`${sql.raw(PREPARED)}
    WITH acc AS MATERIALIZED (${accessSelect(v.apiRoot as string, collectionId, (v.clientId as string | undefined) ?? null)})
      ${proof ? provenCte(v) : sql``}
    , p AS MATERIALIZED (
      SELECT CASE WHEN m.n > ${v.limit} THEN -1 ELSE (m.n - 1) / ${sql.lit(PAGE_CHUNK)} END AS chunk, count(*)::int AS fetched,
        min(m.date_added) AS first_at, max(m.date_added) AS last_at, max(m.tlp_level) AS max_level,
        string_agg(m.tlp_level::text, '') AS levels,
        string_agg(m.json, ',' ORDER BY m.n) FILTER (WHERE m.n <= ${v.limit}) AS objects, ${origins} AS origins
      FROM acc ${tokenJoin} CROSS JOIN LATERAL (
        SELECT o.date_added, o.tlp_level, o.object::text AS json, row_number() OVER (ORDER BY o.date_added) AS n ${originColumns}
        FROM objects o
        WHERE ${right} ${proof ? sql`AND token.proven` : sql``} AND ${rowConditions(collectionId, vf)} AND o.latest AND ${referencesVisible('o', vf.audience, vf.relaxContainers ?? false)}
        ORDER BY o.date_added LIMIT ${v.fetch}
      ) m
      GROUP BY 1
    ) ${audit ? auditCte(v) : sql``}
    SELECT to_json(acc)::text AS access, ${proof ? sql`token.proven` : sql`true AS proven`}, p.chunk, p.fetched,
      ${taxiiTimeOf(sql`p.first_at`)} AS first, ${taxiiTimeOf(sql`p.last_at`)} AS last, p.levels, p.objects, p.origins
    FROM acc ${tokenJoin} LEFT JOIN p ON true ORDER BY p.chunk`;
  });
  const first = r.rows[0];
  // No row: no such API root; a proof then stays unproven, for the caller to answer as to anyone.
  if (!first) return { access: undefined, page: undefined, proven: !proof };
  if (!first.proven) return { access: undefined, page: undefined, proven: false };
  const page: ObjectsText = { fetched: 0, first: null, last: null, objects: [], levels: new Map(), origins: [] };
  for (const row of r.rows) {
    if (row.chunk === null) continue;
    page.fetched += row.fetched!;
    if (row.chunk < 0) continue;
    page.first ??= row.first;
    page.last = row.last;
    const levels = row.levels ?? '';
    for (let i = 0; i < levels.length; i++) {
      const level = levels.charCodeAt(i) - 48;
      page.levels.set(level, (page.levels.get(level) ?? 0) + 1);
    }
    if (row.objects !== null) page.objects.push(row.objects);
    if (row.origins !== null) page.origins.push(row.origins);
  }
  return { access: accessRow(JSON.parse(first.access) as Record<string, unknown>), page, proven: true };
}

export function selectManifestWithAccess(
  db: Db,
  who: Parameters<typeof latestPageWithAccess>[1],
  filtersFor: (acc: AccessRefs) => ObjectFilters,
  limit: number,
): Promise<PageWithAccess<ManifestRow>> {
  return latestPageWithAccess<ManifestRow>(db, who, filtersFor, limit, manifestColumns);
}

/** Is any version the filters (and the audience) allow there? */
export async function objectExists(db: Db, collectionId: string, f: ObjectFilters): Promise<boolean> {
  const r =
    await sql`SELECT 1 FROM objects o WHERE ${rowConditions(collectionId, f)} AND ${referencesVisible('o', f.audience, f.relaxContainers ?? false)} LIMIT 1`.execute(
      db,
    );
  return r.rows.length > 0;
}

/** Sets `latest` right on every version of the given ids, after versions came or went. */
async function relabelLatest(tx: Db, collectionId: string, ids: string[]): Promise<void> {
  await sql`UPDATE objects o SET latest = NOT EXISTS (SELECT 1 FROM objects v WHERE v.collection_id = o.collection_id AND v.id = o.id AND ${laterVersion('v', 'o')})
    WHERE o.collection_id = ${collectionId} AND o.id IN (${sql.join(ids)})
      AND o.latest = EXISTS (SELECT 1 FROM objects v WHERE v.collection_id = o.collection_id AND v.id = o.id AND ${laterVersion('v', 'o')})`.execute(
    tx,
  );
}

/**
 * Deletes the versions of one object that the filters select; returns how many went. Locks the
 * ids first, as writers do (lockForWrite), so `latest` is relabelled over committed versions.
 */
export async function deleteObjectVersions(tx: Transaction<Schema>, collectionId: string, f: ObjectFilters): Promise<number> {
  const matched = await sql<{ id: string }>`SELECT DISTINCT o.id FROM objects o WHERE ${objectsWhere(collectionId, f)}`.execute(tx);
  await lockCollection(tx, collectionId, 'KEY SHARE');
  await lockIds(
    tx,
    collectionId,
    matched.rows.map((row) => row.id),
  );
  const r = await sql<{ id: string }>`
    DELETE FROM objects WHERE (collection_id, date_added) IN (
      SELECT o.collection_id, o.date_added FROM objects o WHERE ${objectsWhere(collectionId, f)})
    RETURNING id`.execute(tx);
  const ids = [...new Set(r.rows.map((row) => row.id))];
  if (ids.length > 0) {
    await relabelLatest(tx, collectionId, ids);
    // Feed values of the versions went with them (a trigger, migration 0023); the feeds' ETags must change.
    await noteFeedChange(tx, collectionId);
  }
  return r.rows.length;
}

/**
 * One object version ready to store: `json` is the object exactly as received, or null where
 * `pending` holds it (a queued request's chunk keeps no text it does not need).
 */
export type NewObject = {
  id: string;
  type: string;
  specVersion: string;
  version: string | null;
  markingRefs: string[];
  json: string | null;
  /** This version's own effective TLP level; the stored level is the strictest of the id's. */
  level: number;
  pap: number | null;
  denyReason: string | null;
  /**
   * Marking ids no definition is known for yet: the version (and so its id) is withheld until
   * they arrive (store/waiting.ts). Its `level` is then only provisional, and not remembered.
   */
  unresolvedRefs: string[];
  refKind: 'link' | 'container' | null;
  refIds: string[];
  /** The peer node it came from; null when it was submitted here. */
  origin: string | null;
  /** The node where it entered the federation, and that node's signature over it. */
  originNode: string | null;
  originSignature: string | null;
  /** True when this node checked (or made) the origin signature; false when it knows no key to check it with. */
  originVerified: boolean;
  /**
   * What the version gives the feeds, when the caller took it from the object it already parsed
   * (null: nothing); left out, it is taken from `json` here, inside the writer's transaction.
   */
  feed?: FeedSource | null;
  /**
   * Where a queued request holds this object as PostgreSQL parsed it (status_details.payload):
   * the insert takes it from there, so its text is not sent back to PostgreSQL to parse again.
   */
  pending?: { statusId: string; seq: number };
};

/** `withheld`: stored at DENY, served to nobody (its own markings, or another version of its id). */
export type InsertOutcome = { inserted: boolean; withheld: boolean };

/**
 * The locks a writer takes before it stores, always in this order, so that writers wait for each
 * other only where they touch the same thing, and never in a cycle:
 * 1. the collection's row: exclusively by a batch with marking definitions (which release the
 *    versions that waited for them), shared by a batch with versions that wait (a definition's
 *    writer then sees them, or they see the definition), else FOR KEY SHARE, which only keeps the
 *    collection from going while its versions are stored (migration 0024);
 * 2. each id the batch stores (its id_levels row), in id order: the versions of an id, which decide
 *    its `latest` flag and its level, are written by one writer at a time. A batch with marking
 *    definitions also takes the ids of the versions waiting for them, which it will release.
 */
async function lockForWrite(tx: Transaction<Schema>, collectionId: string, batch: NewObject[]): Promise<Set<string>> {
  const definitions = batch.filter((o) => o.type === 'marking-definition').map((o) => o.id);
  const waits = batch.some((o) => o.unresolvedRefs.length > 0);
  await lockCollection(tx, collectionId, definitions.length > 0 ? 'NO KEY UPDATE' : waits ? 'SHARE' : 'KEY SHARE');
  // An id new here has no version held: the lowest level among its versions in the batch (a
  // waiting one counts as CLEAR) is a floor its level will not go under, so its row is made at
  // that floor, and the insert rewrites it only where a version raises it. Answers those ids.
  const floors = new Map<string, number>();
  for (const o of batch) {
    const level = o.unresolvedRefs.length > 0 ? CLEAR : o.level;
    floors.set(o.id, Math.min(level, floors.get(o.id) ?? level));
  }
  if (definitions.length > 0)
    for (const w of await waitingFor(tx, collectionId, definitions)) if (!floors.has(w.id)) floors.set(w.id, CLEAR);
  return lockIds(tx, collectionId, floors);
}

/**
 * Locks the collection's row: a writer's versions and id_levels rows name it, and no key checks
 * it row by row. Throws when the collection is gone.
 */
async function lockCollection(tx: Transaction<Schema>, collectionId: string, strength: 'NO KEY UPDATE' | 'SHARE' | 'KEY SHARE') {
  const r = await sql`SELECT 1 FROM collections WHERE id = ${collectionId} FOR ${sql.raw(strength)}`.execute(tx);
  if (r.rows.length === 0) throw new Error(`collection ${collectionId} does not exist`);
}

/**
 * Locks the ids' id_levels rows in id order, making the row of an id new here at the level given
 * (CLEAR for an array of ids). A held row is locked, not rewritten (ON CONFLICT locks the rows
 * its WHERE turns down). Answers the ids whose row it made: an id with a version stored has its
 * row (made with its first version, kept while a version is left), so these have none.
 */
async function lockIds(tx: Transaction<Schema>, collectionId: string, ids: string[] | ReadonlyMap<string, number>): Promise<Set<string>> {
  const levels = Array.isArray(ids) ? new Map(ids.map((id) => [id, CLEAR])) : ids;
  if (levels.size === 0) return new Set();
  const r = await sql<{ id: string }>`${sql.raw(PREPARED)}
    INSERT INTO id_levels (collection_id, id, tlp_level)
    SELECT ${collectionId}::uuid, i.v->>0, (i.v->>1)::smallint FROM jsonb_array_elements(${JSON.stringify([...levels])}::jsonb) AS i(v)
    ORDER BY i.v->>0
    ON CONFLICT (collection_id, id) DO UPDATE SET tlp_level = id_levels.tlp_level WHERE false
    RETURNING id`.execute(tx);
  return new Set(r.rows.map((row) => row.id));
}

/**
 * The level of each id new here (lockIds made its row) whose versions in the batch all have one
 * level (a waiting one counts as CLEAR): its row holds it already, and nothing in the batch
 * raises it. The insert looks no further for these ids.
 */
function settledLevels(batch: NewObject[], created: ReadonlySet<string>): Map<string, number | null> {
  const settled = new Map<string, number | null>();
  for (const o of batch) {
    if (!created.has(o.id)) continue;
    const level = o.unresolvedRefs.length > 0 ? CLEAR : o.level;
    const seen = settled.get(o.id);
    settled.set(o.id, seen === undefined || seen === level ? level : null);
  }
  return settled;
}

/**
 * Stores a batch in one statement, as a writer announced by write-horizon.ts (asWriter): its
 * stamps come from the clock (vigil_stamps), and writers of one collection store side by side;
 * readers keep before the horizon, so a poller never passes a stamp whose objects commit later.
 * A version already held is left as it was: its date_added never moves. Every version of an id
 * carries the strictest level ever seen for it (id_levels), older versions included.
 */
export async function insertObjects(tx: Transaction<Schema>, collectionId: string, batch: NewObject[]): Promise<InsertOutcome[]> {
  if (batch.length === 0) return [];
  // The locks first, so this statement's snapshot holds every version of the batch's ids committed
  // before it: which ids already had versions (below) is then exact. An id whose row the locks
  // made (`created`) has no version held: the statement looks up none of its held versions.
  const created = await lockForWrite(tx, collectionId, batch);
  const settled = settledLevels(batch, created);
  // The versions' fields, and apart from them the objects given inline, each a JSON value (not a
  // string holding its text): PostgreSQL parses an object once, and nothing escapes its text here.
  // An object is taken by its ordinal after the sort into batch order, as a pending one is from
  // its row: carried through the input and the sort, a page of objects went past work_mem.
  const rows = JSON.stringify(
    batch.map((o) => [
      o.id,
      o.type,
      o.specVersion,
      o.version,
      o.markingRefs,
      o.level,
      o.pap,
      o.denyReason,
      o.refKind,
      o.refIds,
      o.origin,
      o.originNode,
      o.originSignature,
      o.originVerified,
      o.unresolvedRefs,
      feedOf(o),
      created.has(o.id),
      settled.get(o.id) ?? null,
      ...(o.pending ? [o.pending.statusId, o.pending.seq] : []),
    ]),
  );
  const objects = `[${batch.map(objectText).join(',')}]`;
  // A prepared statement (its text never varies): parsing and planning it anew took a few
  // milliseconds of PostgreSQL's time for every batch, about as much as storing a dozen versions.
  const r = await sql<{
    kind: 'stored' | 'relabel' | 'waiting';
    id: string;
    spec_version: string | null;
    version: string | null;
    tlp_level: number | null;
  }>`${sql.raw(PREPARED)}
    WITH stamp AS (
      SELECT vigil_stamps(${batch.length}::int) AS base
    ), input AS (
      SELECT (r.ord - 1)::int AS ord, r.value->>0 AS id, r.value->>1 AS type, r.value->>2 AS spec_version,
             r.value->>3 AS version,
             ARRAY(SELECT jsonb_array_elements_text(r.value->4)) AS marking_refs,
             (r.value->>18)::uuid AS pending_status, (r.value->>19)::int AS pending_seq, r.value->15 AS feed,
             (r.value->>16)::boolean AS new_id, (r.value->>17)::smallint AS settled,
             (r.value->>5)::smallint AS level, (r.value->>6)::smallint AS pap_level, r.value->>7 AS deny_reason,
             r.value->>8 AS ref_kind, ARRAY(SELECT jsonb_array_elements_text(r.value->9)) AS ref_ids,
             r.value->>10 AS origin, r.value->>11 AS origin_node, r.value->>12 AS origin_signature,
             (r.value->>13)::boolean AS origin_verified, ARRAY(SELECT jsonb_array_elements_text(r.value->14)) AS unresolved_refs,
             ${versionTimeOf(sql`r.value->>3`)} AS version_time
      FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS r(value, ord)
    ), fresh AS (
      -- The versions this statement stores: a copy of a version already held (or repeated in
      -- the batch) is not stored, so its markings raise nothing.
      -- Held versions are looked up one by one (a scalar subquery is never turned into a join):
      -- as a join, a collection grown since its statistics were taken looked small enough to read whole.
      -- An id new here (new_id: lockIds made its row) has none to look up, here or below: in a
      -- catch-up or a first ingest, most ids.
      SELECT DISTINCT ON (i.id, i.spec_version, coalesce(i.version_time, '-infinity'))
             i.id, i.spec_version, coalesce(i.version_time, '-infinity') AS version_key, i.ord, i.level, i.unresolved_refs, i.settled
      FROM input i
      WHERE i.new_id OR (SELECT true FROM objects h WHERE h.collection_id = ${collectionId} AND h.id = i.id
               AND h.spec_version = i.spec_version AND h.version_key = coalesce(i.version_time, '-infinity')) IS NULL
      ORDER BY i.id, i.spec_version, coalesce(i.version_time, '-infinity'), i.ord
    ), waiting AS (
      -- Ids with a version waiting for a marking definition, stored now or before: every
      -- version of such an id is withheld (the strictest level of an id applies to all).
      SELECT f.id FROM fresh f WHERE f.unresolved_refs <> '{}'
      UNION
      SELECT h.id FROM objects h WHERE h.collection_id = ${collectionId} AND h.unresolved_refs <> '{}' AND h.id IN (SELECT f.id FROM fresh f)
    ), levels AS (
      -- The ids' rows are locked already (lockForWrite), and rewritten here only where a version
      -- raises them; an id's level is its row's then, as this statement found it, or as raised.
      -- A waiting version's level is not remembered (CLEAR is the floor): it is decided when its
      -- definitions arrive. A settled id's row holds its level already.
      INSERT INTO id_levels (collection_id, id, tlp_level)
      SELECT ${collectionId}::uuid, f.id, max(CASE WHEN f.unresolved_refs <> '{}' THEN ${sql.lit(CLEAR)} ELSE f.level END) FROM fresh f, stamp
      WHERE f.settled IS NULL GROUP BY f.id
      ON CONFLICT (collection_id, id) DO UPDATE SET tlp_level = excluded.tlp_level WHERE excluded.tlp_level > id_levels.tlp_level
      RETURNING id, tlp_level
    ), stamped AS (
      SELECT input.*, stamp.base + input.ord * interval '1 microsecond' AS date_added,
             coalesce(input.version_time, stamp.base + input.ord * interval '1 microsecond') AS version_at FROM input, stamp
    ), tops AS (
      -- The latest (laterVersion's order) of each id's versions this statement stores: the only
      -- one of them that may be stored as 'latest', so versions of one id in one batch need no
      -- relabelling after.
      SELECT DISTINCT ON (f.id) f.id, f.ord FROM fresh f JOIN stamped s ON s.ord = f.ord
      ORDER BY f.id, s.spec_version DESC, s.version_at DESC
    ), stored AS (
      INSERT INTO objects (collection_id, date_added, id, type, spec_version, version, version_at, version_key, marking_refs, object,
                           tlp_level, pap_level, deny_reason, ref_kind, ref_ids, origin, origin_node, origin_signature, origin_verified,
                           unresolved_refs, latest)
      SELECT ${collectionId}::uuid, s.date_added, s.id, s.type, s.spec_version, s.version,
             s.version_at, coalesce(s.version_time, '-infinity'), s.marking_refs,
             CASE WHEN s.pending_status IS NULL THEN (SELECT ${objects}::jsonb) -> s.ord
                  -- The pending row and the version described are one object, or the insert fails
                  -- (NOT NULL): a chunk prepared from a body's text (prepare-objects.ts) describes
                  -- what PostgreSQL recorded of it, and this holds it to that.
                  ELSE (SELECT d.payload FROM status_details d WHERE d.status_id = s.pending_status AND d.seq = s.pending_seq
                          AND d.payload->>'id' = s.id) END,
             s.tlp_level, s.pap_level, s.deny_reason, s.ref_kind, s.ref_ids, s.origin, s.origin_node, s.origin_signature,
             s.origin_verified, s.unresolved_refs, s.latest
      FROM (
        -- Sorted in batch order (the first copy of a version is the one stored) without the
        -- objects, which are taken after the sort (from the objects given, or their pending
        -- rows): carried through it, a 2,000-object chunk's sort went past work_mem to a temporary file.
        SELECT s.*, t.ord IS NOT DISTINCT FROM s.ord
                      AND (s.new_id OR NOT EXISTS (SELECT 1 FROM objects v WHERE v.collection_id = ${collectionId} AND v.id = s.id AND ${laterVersion('v', 's')})) AS latest,
               CASE WHEN s.id IN (SELECT id FROM waiting) THEN ${sql.lit(DENY)}
                    ELSE coalesce(l.tlp_level, s.settled, (SELECT k.tlp_level FROM id_levels k WHERE k.collection_id = ${collectionId} AND k.id = s.id)) END AS tlp_level
        FROM stamped s LEFT JOIN levels l ON l.id = s.id LEFT JOIN tops t ON t.id = s.id ORDER BY s.ord
      ) s
      ORDER BY s.ord
      ON CONFLICT (collection_id, id, spec_version, version_key) DO NOTHING
      RETURNING id, spec_version, version, version_key, tlp_level
    ), feeds AS (
      -- What each version stored gives the feeds: its first copy's values.
      INSERT INTO feed_values (collection_id, kind, value, id, spec_version, version_key, valid_until, confidence)
      SELECT ${collectionId}::uuid, v.value->>0, v.value->>1, s.id, s.spec_version, s.version_key,
             ${versionTimeOf(sql`i.feed->>0`)}, (i.feed->>1)::smallint
      FROM stored s
      JOIN fresh f ON f.id = s.id AND f.spec_version = s.spec_version AND f.version_key = s.version_key
      JOIN input i ON i.ord = f.ord
      CROSS JOIN LATERAL jsonb_array_elements(i.feed->2) AS v(value)
      ON CONFLICT DO NOTHING
    ), relabel AS (
      -- Ids whose versions held already may need a new level or 'latest'. The versions this
      -- statement stores are right as inserted.
      SELECT i.id FROM input i WHERE NOT i.new_id GROUP BY i.id
      HAVING (SELECT true FROM objects h WHERE h.collection_id = ${collectionId} AND h.id = i.id LIMIT 1)
    ), outbox AS (
      -- The alert outbox, in this transaction: the batch's stamps are one range, which no other
      -- writer's stamps fall in. Copies of held versions, not stored, leave gaps in the range,
      -- which the matcher reads over.
      INSERT INTO alert_outbox (collection_id, first_added, last_added)
      SELECT ${collectionId}::uuid, stamp.base, stamp.base + (${batch.length}::int - 1) * interval '1 microsecond'
      FROM stamp WHERE EXISTS (SELECT 1 FROM stored)
    )
    SELECT 'stored' AS kind, id, spec_version, version, tlp_level FROM stored
    UNION ALL SELECT 'relabel', id, NULL, NULL, NULL FROM relabel WHERE EXISTS (SELECT 1 FROM stored)
    UNION ALL SELECT 'waiting', id, NULL, NULL, NULL FROM waiting WHERE EXISTS (SELECT 1 FROM stored)`.execute(tx);
  // A stricter version raises the level of the versions already held, a waiting one withholds
  // them, and a later one takes `latest` from them (this statement sees the rows just stored,
  // and every committed one).
  const waiting = r.rows.filter((row) => row.kind === 'waiting').map((row) => row.id);
  const relabel = [...new Set([...r.rows.filter((row) => row.kind === 'relabel').map((row) => row.id), ...waiting])];
  if (relabel.length > 0) {
    const later = sql`EXISTS (SELECT 1 FROM objects v WHERE v.collection_id = o.collection_id AND v.id = o.id AND ${laterVersion('v', 'o')})`;
    const withheld = waiting.length > 0 ? sql<boolean>`x.id IN (${sql.join(waiting)})` : sql<boolean>`false`;
    // Every version of the ids, found id by id (OFFSET 0 keeps each lookup a probe of
    // objects_version_key) and updated by its row's address: a collection that grew since its
    // statistics were taken looks small to the planner, which then read all of it for each
    // batch (0.4 s a batch at 80,000 objects, and growing with the collection).
    // `changes` sees the rows before the update: a feed's value withheld from readers who were
    // served it changes nothing a feed's ETag reads (store/feeds.ts), so it is noted.
    const r2 = await sql<{ raised: boolean }>`
      WITH relabelled AS MATERIALIZED (
        SELECT o.tid, o.type, o.tlp_level <> o.level AS changes, o.level, o.latest
        FROM unnest(${relabel}::text[]) AS x(id)
        CROSS JOIN LATERAL (
          SELECT o.ctid AS tid, o.type, o.tlp_level,
                 CASE WHEN ${withheld} THEN ${sql.lit(DENY)}
                      ELSE greatest(o.tlp_level, (SELECT l.tlp_level FROM id_levels l WHERE l.collection_id = ${collectionId} AND l.id = x.id)) END AS level,
                 NOT ${later} AS latest, o.latest AS was_latest
          FROM objects o WHERE o.collection_id = ${collectionId} AND o.id = x.id OFFSET 0
        ) o
        WHERE o.tlp_level <> o.level OR o.was_latest <> o.latest
      ), raised AS (
        SELECT 1 FROM relabelled o WHERE o.changes AND ${feedTypeCondition('o')}
      ), updated AS (
        UPDATE objects o SET tlp_level = r.level, latest = r.latest FROM relabelled r WHERE o.ctid = r.tid
      )
      SELECT EXISTS (SELECT 1 FROM raised) AS raised`.execute(tx);
    if (r2.rows[0]?.raised) await noteFeedChange(tx, collectionId);
  }
  // A key appears once in the result even when the batch repeats it: only its first copy counts.
  const fresh = new Map(
    r.rows
      .filter((row) => row.kind === 'stored')
      .map((row) => [versionIdentity(row.id, row.spec_version!, row.version), row.tlp_level === DENY]),
  );
  await insertSightingFigures(tx, collectionId, figureVersions(storedFirstCopies(batch, fresh)));
  return batch.map((o) => {
    const key = versionIdentity(o.id, o.specVersion, o.version);
    const withheld = fresh.get(key);
    fresh.delete(key);
    return { inserted: withheld !== undefined, withheld: withheld ?? false };
  });
}

/** The batch's versions this statement stored: the first copy of each. */
function storedFirstCopies(batch: NewObject[], stored: Map<string, boolean>): NewObject[] {
  const seen = new Set<string>();
  return batch.filter((o) => {
    const key = versionIdentity(o.id, o.specVersion, o.version);
    if (!stored.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A version's text in the insert's list of objects: `null` for one its pending row holds. */
function objectText(o: NewObject): string {
  if (o.pending) return 'null';
  if (o.json === null) throw new Error(`${o.id}: a version to store has neither its text nor a pending row`);
  return o.json;
}

/** What a version gives the feeds, as the insert takes it: [valid_until, confidence, [[kind, value], ...]], or null. */
function feedOf(o: NewObject): [string | null, number | null, [string, string][]] | null {
  const source = o.feed === undefined && o.json !== null ? feedSourceOf(o.type, o.json) : (o.feed ?? undefined);
  return source && source.values.length > 0 ? [source.validUntil, source.confidence, source.values.map((x) => [x.kind, x.value])] : null;
}

/** The stored versions that are aggregate sightings, with their figures (trends). */
function figureVersions(stored: NewObject[]): FigureVersion[] {
  return stored.flatMap((o) => {
    const figures = o.json === null ? undefined : figuresOf(o.type, o.json);
    return figures && o.version !== null
      ? [{ id: o.id, specVersion: o.specVersion, version: o.version, originNode: o.originNode, figures }]
      : [];
  });
}

/** A version to compare with what is held: `json` is the object as received, or `pending` the row that holds it. */
export type ReceivedVersion = {
  id: string;
  specVersion: string;
  version: string | null;
  json: string | null;
  pending?: { statusId: string; seq: number };
};

/**
 * The indexes of versions held here under the same key with other content (compared as jsonb),
 * each looked up by its key (a scalar subquery: never a join that reads the whole collection).
 */
export async function differingVersions(tx: Transaction<Schema>, collectionId: string, items: ReceivedVersion[]): Promise<number[]> {
  if (items.length === 0) return [];
  const rows = JSON.stringify(items.map((o, i) => [i, o.id, o.specVersion, o.version, o.json, o.pending?.statusId, o.pending?.seq]));
  const received = sql`coalesce((i.value->>4)::jsonb,
    (SELECT d.payload FROM status_details d WHERE d.status_id = (i.value->>5)::uuid AND d.seq = (i.value->>6)::int))`;
  const r = await sql<{ ord: number }>`
    SELECT (i.value->>0)::int AS ord FROM jsonb_array_elements(${rows}::jsonb) AS i(value)
    WHERE (SELECT o.object <> ${received} FROM objects o
           WHERE o.collection_id = ${collectionId} AND o.id = i.value->>1 AND o.spec_version = i.value->>2
             AND o.version_key = coalesce(${versionTimeOf(sql`i.value->>3`)}, '-infinity'))
    ORDER BY 1`.execute(tx);
  return r.rows.map((row) => row.ord);
}

/** Drops the level remembered for an id once no version of it is left. */
export async function forgetIdLevel(db: Db, collectionId: string, id: string): Promise<void> {
  await sql`DELETE FROM id_levels l WHERE l.collection_id = ${collectionId} AND l.id = ${id}
    AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.collection_id = ${collectionId} AND o.id = ${id})`.execute(db);
}

/** Stored marking-definition objects of a collection, by id (their latest version). */
export async function findMarkingDefinitions(db: Db, collectionId: string, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map();
  const r = await sql<{ id: string; json: string }>`
    SELECT DISTINCT ON (o.id) o.id, o.object::text AS json FROM objects o
    WHERE o.collection_id = ${collectionId} AND o.type = 'marking-definition' AND o.id IN (${sql.join(ids)})
    ORDER BY o.id, o.version_at DESC`.execute(db);
  return new Map(r.rows.map((row) => [row.id, JSON.parse(row.json) as Record<string, unknown>]));
}

/** A version's identity as text (id, spec version, version): one key for maps of versions. */
export function versionIdentity(id: string, specVersion: string, version: string | null): string {
  return `${id}\u0000${specVersion}\u0000${version ?? ''}`;
}

/** The server-side versions (first date_added) of versionless objects, by id (looked up id by id, as in insertObjects). */
export async function versionlessVersions(db: Db, collectionId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const r = await sql<{ id: string; version: string }>`
    SELECT x.id, o.version FROM unnest(${ids}::text[]) AS x(id)
    CROSS JOIN LATERAL (
      SELECT ${versionText} AS version FROM objects o
      WHERE o.collection_id = ${collectionId} AND o.id = x.id AND o.version IS NULL OFFSET 0
    ) o`.execute(db);
  return new Map(r.rows.map((row) => [row.id, row.version]));
}

export type DeniedRow = { id: string; version: string; date_added: string; reason: string | null; unresolved_refs: string[] };

/** The versions of a collection served to nobody, oldest first, with why (for the admin). */
export async function listDenied(db: Db, collectionId: string, limit: number): Promise<DeniedRow[]> {
  const r = await sql<DeniedRow>`
    SELECT o.id, ${versionText} AS version, ${dateAddedText} AS date_added, o.deny_reason AS reason, o.unresolved_refs
    FROM objects o WHERE o.collection_id = ${collectionId} AND o.tlp_level = ${DENY} ORDER BY o.date_added LIMIT ${limit}`.execute(db);
  return r.rows;
}

export type ProvenanceRow = {
  version: string;
  spec_version: string;
  date_added: string;
  tlp_level: number;
  deny_reason: string | null;
  received_from: string | null;
  origin_node: string | null;
  origin_signature: string | null;
  origin_verified: boolean | null;
};

/** Every stored version of an object, with its level and where it came from (for the admin). */
export async function objectProvenance(db: Db, collectionId: string, id: string): Promise<ProvenanceRow[]> {
  const r = await sql<ProvenanceRow>`
    SELECT ${versionText} AS version, o.spec_version, ${dateAddedText} AS date_added, o.tlp_level, o.deny_reason,
           o.origin AS received_from, o.origin_node, o.origin_signature, o.origin_verified
    FROM objects o WHERE o.collection_id = ${collectionId} AND o.id = ${id} ORDER BY o.date_added`.execute(db);
  return r.rows;
}
