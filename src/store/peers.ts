import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { ClientPolicy, ClientRow } from './clients.ts';

export type PeerRow = ClientRow & Omit<ClientPolicy, 'organisation'> & { node_id: string; base_url: string | null; pinned_keys: unknown };

export async function findPeerByNodeId(db: Db, nodeId: string): Promise<PeerRow | undefined> {
  const row = await db
    .selectFrom('clients')
    .select(['id', 'name', 'kind', 'clearance', 'own_org', 'peer_amber', 'node_id', 'base_url', 'pinned_keys'])
    .where('node_id', '=', nodeId)
    .where('kind', '=', 'peer')
    .executeTakeFirst();
  return row?.node_id ? { ...row, node_id: row.node_id } : undefined;
}

export async function setPeerIdentity(
  db: Db,
  clientId: string,
  p: { node_id: string; base_url: string | null; pinned_keys: unknown[] },
): Promise<boolean> {
  const r = await db
    .updateTable('clients')
    .set({ node_id: p.node_id, base_url: p.base_url, pinned_keys: JSON.stringify(p.pinned_keys) })
    .where('id', '=', clientId)
    .where('kind', '=', 'peer')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records a request proof's id until it expires; false when it was seen already (a replay). */
export async function rememberNonce(db: Db, jti: string, expiresEpochSeconds: number): Promise<boolean> {
  const r = await sql`INSERT INTO request_nonces (jti, expires) VALUES (${jti}, to_timestamp(${expiresEpochSeconds}))
    ON CONFLICT (jti) DO NOTHING RETURNING jti`.execute(db);
  return r.rows.length > 0;
}

export async function forgetExpiredNonces(db: Db): Promise<void> {
  await sql`DELETE FROM request_nonces WHERE expires < now()`.execute(db);
}
