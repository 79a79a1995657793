import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { ReceivedVersion } from './objects.ts';
import type { MispFilter, Schema, SourcesTable } from './schema.ts';
import { taxiiTime } from './timestamps.ts';
import type { Level } from '../policy/levels.ts';

// Sources: what this node pulls (peers' collections over signed requests, TAXII servers'
// collections over plain TAXII, MISP instances' events through restSearch), claimed under a
// lease like ingest jobs: one replica pulls a source at a time, and another takes over once a
// dead replica's lease runs out.

export type AuthKind = 'none' | 'basic' | 'bearer' | 'header';

export type NewSource = Pick<SourcesTable, 'id' | 'remote_collection_id' | 'collection_id' | 'interval_seconds'> &
  (
    | { kind: 'peer'; peer_id: string; remote_api_root: string }
    | {
        kind: 'taxii';
        url: string;
        auth_kind: AuthKind;
        auth_name: string | null;
        auth_secret: string | null;
        default_tlp: number | null;
        cursor: string | null;
      }
    | {
        kind: 'misp';
        url: string;
        auth_kind: 'header';
        auth_name: string;
        auth_secret: string;
        default_tlp: number;
        cursor: string | null;
        filter: MispFilter;
      }
  );

/** A source as the puller claims it, with what it needs to reach the peer or the server. */
export type ClaimedSource = Pick<SourcesTable, 'id' | 'remote_collection_id' | 'collection_id' | 'interval_seconds'> & {
  kind: 'peer' | 'taxii' | 'misp';
  peer_id: string | null;
  remote_api_root: string | null;
  cursor: string | null;
  lease_owner: string;
  consecutive_failures: number;
  peer_node_id: string | null;
  base_url: string | null;
  pinned_keys: unknown;
  url: string | null;
  auth_kind: AuthKind | null;
  auth_name: string | null;
  /** Sent to the server only: never logged, never answered. */
  auth_secret: string | null;
  default_tlp: number | null;
  filter: MispFilter | null;
};

/** A source's status; never its secret. */
export type SourceStatus = {
  id: string;
  kind: 'peer' | 'taxii' | 'misp';
  peer_id: string | null;
  peer_node_id: string | null;
  remote_api_root: string | null;
  remote_collection_id: string;
  collection_id: string;
  url: string | null;
  auth_kind: AuthKind | null;
  auth_name: string | null;
  default_tlp: number | null;
  filter: MispFilter | null;
  interval_seconds: number;
  cursor: string | null;
  next_attempt: string;
  consecutive_failures: number;
  last_success: string | null;
  /** When its last run ended, however it ended. */
  last_attempt: string | null;
  lag_seconds: number | null;
  last_error: string | null;
  /** Versions the last run stored. */
  last_pulled_count: number;
  /** Versions its pulls stored, in all. */
  stored_count: number;
  quarantined: number;
  created: string;
};

const time = taxiiTime;

export async function insertSource(db: Db, s: NewSource): Promise<void> {
  const row = s.kind === 'misp' ? { ...s, filter: sql<MispFilter>`${JSON.stringify(s.filter)}::jsonb` } : s;
  await db.insertInto('sources').values(row).execute();
}

/** The default levels of these sources that have one (by id): for versions of theirs released from waiting. */
export async function sourceDefaultLevels(db: Db | Transaction<Schema>, ids: string[]): Promise<Map<string, Level>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('sources')
    .select(['id', 'default_tlp'])
    .where('id', 'in', ids)
    .where('default_tlp', 'is not', null)
    .execute();
  return new Map(rows.map((r) => [r.id, r.default_tlp as Level]));
}

export async function deleteSource(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('sources').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listSourceStatus(db: Db, id?: string): Promise<SourceStatus[]> {
  const r = await sql<SourceStatus>`
    SELECT s.id, s.kind, s.peer_id, c.node_id AS peer_node_id, s.remote_api_root, s.remote_collection_id, s.collection_id,
           s.url, s.auth_kind, s.auth_name, s.default_tlp, s.filter,
           s.interval_seconds, s.cursor, ${time('s.next_attempt')} AS next_attempt, s.consecutive_failures,
           ${time('s.last_success')} AS last_success, ${time('s.last_attempt')} AS last_attempt,
           extract(epoch FROM now() - s.last_success)::float8 AS lag_seconds,
           s.last_error, s.last_pulled_count, s.stored_count::float8 AS stored_count,
           (SELECT count(*) FROM quarantine q WHERE q.source_id = s.id)::int AS quarantined,
           ${time('s.created')} AS created
    FROM sources s LEFT JOIN clients c ON c.id = s.peer_id
    ${id ? sql`WHERE s.id = ${id}` : sql``}
    ORDER BY s.created, s.id`.execute(db);
  return r.rows;
}

/**
 * Takes one due source whose lease has run out (or, with `id`, that one whether due or
 * not), for `leaseSeconds`, under a new owner token; SKIP LOCKED lets replicas share the work.
 */
export async function claimSource(db: Db, owner: string, leaseSeconds: number, id?: string): Promise<ClaimedSource | undefined> {
  const r = await sql<ClaimedSource>`
    WITH claimed AS (
      UPDATE sources s SET lease_owner = ${owner}, lease_until = now() + ${leaseSeconds} * interval '1 second'
      WHERE s.id = (
        SELECT id FROM sources
        WHERE lease_until < now() AND ${id ? sql`id = ${id}` : sql`next_attempt <= now()`}
        ORDER BY next_attempt LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING s.id, s.kind, s.peer_id, s.remote_api_root, s.remote_collection_id, s.collection_id, s.interval_seconds,
                s.cursor, s.lease_owner, s.consecutive_failures, s.url, s.auth_kind, s.auth_name, s.auth_secret, s.default_tlp,
                s.filter)
    SELECT claimed.*, c.node_id AS peer_node_id, c.base_url, c.pinned_keys
    FROM claimed LEFT JOIN clients c ON c.id = claimed.peer_id`.execute(db);
  return r.rows[0];
}

export async function extendSourceLease(db: Db, id: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const r = await sql`UPDATE sources SET lease_until = now() + ${leaseSeconds} * interval '1 second'
    WHERE id = ${id} AND lease_owner = ${owner} RETURNING id`.execute(db);
  return r.rows.length > 0;
}

/**
 * Moves the cursor, in the transaction that stores the page, only if this owner still holds
 * the lease and nobody moved the cursor meanwhile: false means the page must not be stored.
 */
export async function advanceCursor(tx: Transaction<Schema>, id: string, owner: string, from: string | null, to: string): Promise<boolean> {
  const r = await sql`UPDATE sources SET cursor = ${to}
    WHERE id = ${id} AND lease_owner = ${owner} AND cursor IS NOT DISTINCT FROM ${from} RETURNING id`.execute(tx);
  return r.rows.length > 0;
}

/** Adds a page's newly stored versions to the source's count, in the transaction that stores them (its row is locked already). */
export async function countStored(tx: Transaction<Schema>, id: string, stored: number): Promise<void> {
  if (stored > 0) await sql`UPDATE sources SET stored_count = stored_count + ${stored} WHERE id = ${id}`.execute(tx);
}

/** Ends a run that stored every page it could: due again after the interval. */
export async function finishSuccess(db: Db, id: string, owner: string, pulled: number): Promise<void> {
  await sql`UPDATE sources SET lease_owner = NULL, lease_until = '-infinity',
      next_attempt = now() + interval_seconds * interval '1 second', consecutive_failures = 0,
      last_success = now(), last_attempt = now(), last_error = NULL, last_pulled_count = ${pulled}
    WHERE id = ${id} AND lease_owner = ${owner}`.execute(db);
}

/** Ends a failed run: one more failure, due again after `delaySeconds` (the backoff). */
export async function finishFailure(db: Db, id: string, owner: string, error: string, delaySeconds: number, pulled: number): Promise<void> {
  await sql`UPDATE sources SET lease_owner = NULL, lease_until = '-infinity',
      next_attempt = now() + ${delaySeconds} * interval '1 second', consecutive_failures = consecutive_failures + 1,
      last_attempt = now(), last_error = ${error.slice(0, 2000)}, last_pulled_count = ${pulled}
    WHERE id = ${id} AND lease_owner = ${owner}`.execute(db);
}

export async function insertReceipt(
  tx: Transaction<Schema>,
  r: { sourceId: string; peer: string; signature: string; digest: string; count: number },
): Promise<void> {
  await tx
    .insertInto('receipts')
    .values({ source_id: r.sourceId, peer: r.peer, signature: r.signature, body_digest: r.digest, object_count: r.count })
    .execute();
}

export type QuarantinedVersion = ReceivedVersion & { originNode: string | null; originSignature: string | null };

/** Keeps what a peer or a server sent under a version held here with other content; the same content once. */
export async function quarantineVersions(
  tx: Transaction<Schema>,
  where: { sourceId: string; collectionId: string; peer: string },
  items: QuarantinedVersion[],
): Promise<void> {
  if (items.length === 0) return;
  const rows = JSON.stringify(items.map((o) => [o.id, o.version, o.json, o.originNode, o.originSignature]));
  await sql`INSERT INTO quarantine (source_id, collection_id, peer, id, version, object, origin_node, origin_signature)
    SELECT ${where.sourceId}::uuid, ${where.collectionId}::uuid, ${where.peer}, i.value->>0, i.value->>1,
           (i.value->>2)::jsonb, i.value->>3, i.value->>4
    FROM jsonb_array_elements(${rows}::jsonb) AS i(value)
    WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.collection_id = ${where.collectionId} AND q.id = i.value->>0
                        AND q.version IS NOT DISTINCT FROM i.value->>1 AND q.object = (i.value->>2)::jsonb)`.execute(tx);
}

export async function listQuarantine(db: Db, sourceId: string) {
  return db
    .selectFrom('quarantine')
    .select(['id', 'version', 'peer', 'origin_node', time('received_at').as('received_at'), sql<string>`object::text`.as('json')])
    .where('source_id', '=', sourceId)
    .orderBy('seq')
    .limit(1000)
    .execute();
}
