import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type * as s from '../admin/schemas.ts';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { findClientKind } from '../store/clients.ts';
import { findCollection } from '../store/collections.ts';
import * as store from '../store/sources.ts';
import type { Principal } from './auth.ts';

// Sources for the admin API and the vigil command. Each function's first line is the
// permission check.

function requireAdmin(who: Principal): void {
  if (who.kind !== 'admin') throw new VigilError('forbidden', 'this needs the admin token');
}

export const DEFAULT_INTERVAL_SECONDS = 60;

export async function createSource(deps: Deps, who: Principal, body: z.infer<typeof s.createSourceBody>) {
  requireAdmin(who);
  const db = deps.database.db;
  const peer = await findClientKind(db, body.peer_id);
  if (peer?.kind !== 'peer') throw new VigilError('not-found', `no peer client '${body.peer_id}' (create it with kind "peer")`);
  if (!peer.node_id || !peer.base_url)
    throw new VigilError('unprocessable', 'the peer has no node id or base URL yet: pin them first (PUT /admin/clients/{id}/peer)');
  if (!(await findCollection(db, body.collection_id))) throw new VigilError('not-found', `no collection '${body.collection_id}'`);
  const { kind = 'peer', interval_seconds = DEFAULT_INTERVAL_SECONDS, ...where } = body;
  const id = randomUUID();
  try {
    await store.insertSource(db, { id, kind, ...where, interval_seconds });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new VigilError('conflict', 'this source already exists');
    throw err;
  }
  // A new source is due at once: the scheduler's next tick pulls it.
  return getSource(deps, who, id);
}

export async function listSources(deps: Deps, who: Principal) {
  requireAdmin(who);
  return store.listSourceStatus(deps.database.db);
}

/** Status: last success, lag behind it, consecutive failures, last error, quarantined versions. */
export async function getSource(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  const [row] = await store.listSourceStatus(deps.database.db, id);
  if (!row) throw new VigilError('not-found', `no source '${id}'`);
  return row;
}

export async function sourceQuarantine(deps: Deps, who: Principal, id: string) {
  await getSource(deps, who, id);
  return store.listQuarantine(deps.database.db, id);
}

export async function deleteSource(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  if (!(await store.deleteSource(deps.database.db, id))) throw new VigilError('not-found', `no source '${id}'`);
}
