import { sql } from 'kysely';
import { PREPARED } from './database.ts';
import type { Db } from './database.ts';

export type ClientRow = { id: string; name: string };
export type GrantRow = { collection_id: string; can_read: boolean; can_write: boolean };

/** `organisation`: what the privacy rule of sightings counts (docs/sightings.md); null, the client counts as one of its own. */
export type ClientPolicy = {
  kind: 'client' | 'peer' | 'feed';
  clearance: number;
  own_org: boolean;
  peer_amber: boolean;
  organisation: string | null;
};
const policyColumns = ['kind', 'clearance', 'own_org', 'peer_amber', 'organisation'] as const;

export async function findClientByTokenHash(
  db: Db,
  tokenHash: Uint8Array,
): Promise<(ClientRow & ClientPolicy & { token_hash: Uint8Array }) | undefined> {
  const r = await sql<ClientRow & ClientPolicy & { token_hash: Uint8Array }>`${sql.raw(PREPARED)}
    SELECT id, name, token_hash, kind, clearance, own_org, peer_amber, organisation FROM clients WHERE token_hash = ${tokenHash}`.execute(
    db,
  );
  return r.rows[0];
}

export async function isRedRecipient(db: Db, collectionId: string, clientId: string): Promise<boolean> {
  const r = await db
    .selectFrom('red_recipients')
    .select('client_id')
    .where('collection_id', '=', collectionId)
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return r !== undefined;
}

export async function listClients(db: Db): Promise<ClientRow[]> {
  return db.selectFrom('clients').select(['id', 'name']).orderBy('name').execute();
}

export async function findClient(db: Db, id: string): Promise<ClientRow | undefined> {
  return db.selectFrom('clients').select(['id', 'name']).where('id', '=', id).executeTakeFirst();
}

/** A client's kind and, for a peer, where it is pinned to be reached. */
export async function findClientKind(
  db: Db,
  id: string,
): Promise<{ kind: string; node_id: string | null; base_url: string | null } | undefined> {
  return db.selectFrom('clients').select(['kind', 'node_id', 'base_url']).where('id', '=', id).executeTakeFirst();
}

export async function findClientPolicy(db: Db, id: string): Promise<ClientPolicy> {
  return db.selectFrom('clients').select(policyColumns).where('id', '=', id).executeTakeFirstOrThrow();
}

export async function insertClient(db: Db, row: ClientRow & Partial<ClientPolicy> & { token_hash: Uint8Array }): Promise<void> {
  await db.insertInto('clients').values(row).execute();
}

export async function updateClient(
  db: Db,
  id: string,
  patch: { name?: string; token_hash?: Uint8Array } & Partial<ClientPolicy>,
): Promise<ClientRow | undefined> {
  if (Object.keys(patch).length === 0) return findClient(db, id);
  return db.updateTable('clients').set(patch).where('id', '=', id).returning(['id', 'name']).executeTakeFirst();
}

export async function deleteClient(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('clients').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listGrants(db: Db, clientId: string): Promise<GrantRow[]> {
  return db
    .selectFrom('collection_grants')
    .select(['collection_id', 'can_read', 'can_write'])
    .where('client_id', '=', clientId)
    .orderBy('collection_id')
    .execute();
}

export async function findGrant(db: Db, clientId: string, collectionId: string): Promise<GrantRow | undefined> {
  return db
    .selectFrom('collection_grants')
    .select(['collection_id', 'can_read', 'can_write'])
    .where('client_id', '=', clientId)
    .where('collection_id', '=', collectionId)
    .executeTakeFirst();
}

/** Sets a client's rights on a collection; no right at all removes the grant. */
export async function putGrant(db: Db, clientId: string, grant: GrantRow): Promise<void> {
  if (!grant.can_read && !grant.can_write) {
    await db.deleteFrom('collection_grants').where('client_id', '=', clientId).where('collection_id', '=', grant.collection_id).execute();
    return;
  }
  await db
    .insertInto('collection_grants')
    .values({ client_id: clientId, ...grant })
    .onConflict((oc) => oc.columns(['client_id', 'collection_id']).doUpdateSet({ can_read: grant.can_read, can_write: grant.can_write }))
    .execute();
}
