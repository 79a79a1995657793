import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Level } from '../policy/levels.ts';
import { PREPARED } from './database.ts';
import type { Db } from './database.ts';

export type CollectionRow = {
  id: string;
  api_root: string;
  title: string;
  description: string | null;
  alias: string | null;
  /** TLP level of unmarked objects: 0 CLEAR … 4 RED. */
  default_level: number;
  pap_green_only: boolean;
  relax_container_refs: boolean;
  public: boolean;
};

const columns = [
  'id',
  'api_root',
  'title',
  'description',
  'alias',
  'default_level',
  'pap_green_only',
  'relax_container_refs',
  'public',
] as const;

export async function listCollections(db: Db, apiRoot?: string): Promise<CollectionRow[]> {
  let q = db.selectFrom('collections').select(columns);
  if (apiRoot !== undefined) q = q.where('api_root', '=', apiRoot);
  return q.orderBy('id').execute();
}

export async function findCollection(db: Db, id: string): Promise<CollectionRow | undefined> {
  return db.selectFrom('collections').select(columns).where('id', '=', id).executeTakeFirst();
}

export async function insertCollection(
  db: Db,
  row: Pick<CollectionRow, 'id' | 'api_root' | 'title' | 'description' | 'alias'> & Partial<CollectionRow>,
): Promise<void> {
  await db.insertInto('collections').values(row).execute();
}

export async function updateCollection(
  db: Db,
  id: string,
  patch: Partial<Omit<CollectionRow, 'id' | 'api_root'>>,
): Promise<CollectionRow | undefined> {
  if (Object.keys(patch).length === 0) return findCollection(db, id);
  return db.updateTable('collections').set(patch).where('id', '=', id).returning(columns).executeTakeFirst();
}

export async function deleteCollection(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('collections').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** A collection as one caller sees it: its grant and whether it is a named RED recipient there. */
export type CollectionAccessRow = {
  collection: CollectionRow | undefined;
  grant: { can_read: boolean; can_write: boolean } | undefined;
  red: boolean;
};

type AccessColumns = CollectionRow & { can_read: boolean | null; can_write: boolean | null; red: boolean };

/** The API root, the collection in it, the client's grant and RED naming: one row, none without the root. */
export function accessSelect(apiRoot: string, collectionId: string, clientId: string | null): RawBuilder<AccessColumns> {
  return sql<AccessColumns>`
    SELECT ${sql.join(columns.map((c) => sql.ref(`c.${c}`)))}, g.can_read, g.can_write,
           EXISTS (SELECT 1 FROM red_recipients x WHERE x.collection_id = c.id AND x.client_id = ${clientId}::uuid) AS red
    FROM api_roots r
    LEFT JOIN collections c ON c.id = ${collectionId}::uuid AND c.api_root = r.name
    LEFT JOIN collection_grants g ON g.collection_id = c.id AND g.client_id = ${clientId}::uuid
    WHERE r.name = ${apiRoot}`;
}

/** The access columns of a row (accessSelect's, possibly beside others) as what they mean. */
export function accessRow(row: Record<string, unknown>): CollectionAccessRow {
  const collection = Object.fromEntries(columns.map((c) => [c, row[c]])) as CollectionRow;
  const { can_read, can_write } = row as { can_read: boolean | null; can_write: boolean | null };
  return {
    collection: collection.id === null ? undefined : collection,
    grant: can_read === null || can_write === null ? undefined : { can_read, can_write },
    red: row.red === true,
  };
}

/**
 * The API root, the collection in it, and the client's grant and RED naming, in one query (every
 * TAXII request on a collection starts here). Undefined when there is no such API root.
 */
export async function findCollectionAccess(
  db: Db,
  apiRoot: string,
  collectionId: string,
  clientId: string | null,
): Promise<CollectionAccessRow | undefined> {
  const r = await sql<AccessColumns>`${sql.raw(PREPARED)}${accessSelect(apiRoot, collectionId, clientId)}`.execute(db);
  return r.rows[0] && accessRow(r.rows[0]);
}

/** What the TLP policy needs of a collection at ingest. */
export async function collectionPolicy(db: Db, id: string): Promise<{ defaultLevel: Level; papGreenOnly: boolean }> {
  const r = await db.selectFrom('collections').select(['default_level', 'pap_green_only']).where('id', '=', id).executeTakeFirstOrThrow();
  return { defaultLevel: r.default_level as Level, papGreenOnly: r.pap_green_only };
}

export async function listRedRecipients(db: Db, collectionId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('red_recipients')
    .select('client_id')
    .where('collection_id', '=', collectionId)
    .orderBy('client_id')
    .execute();
  return rows.map((r) => r.client_id);
}

export async function setRedRecipient(db: Db, collectionId: string, clientId: string, named: boolean): Promise<void> {
  if (named) {
    await db
      .insertInto('red_recipients')
      .values({ collection_id: collectionId, client_id: clientId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  } else {
    await db.deleteFrom('red_recipients').where('collection_id', '=', collectionId).where('client_id', '=', clientId).execute();
  }
}
