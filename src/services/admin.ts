import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type * as s from '../admin/schemas.ts';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import * as roots from '../store/api-roots.ts';
import * as clients from '../store/clients.ts';
import * as collections from '../store/collections.ts';
import type { Principal } from './auth.ts';
import { generateToken, hashToken } from './tokens.ts';

// What the admin API, the vigil command and the first start share. Each function's first
// line is the permission check.

function requireAdmin(who: Principal): void {
  if (who.kind !== 'admin') throw new VigilError('forbidden', 'this needs the admin token');
}

/** A unique-key violation (PostgreSQL 23505) is the caller's conflict, not a server error. */
async function unique<T>(work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '23505') throw new VigilError('conflict', `${what} already exists`);
    if (code === '23503') throw new VigilError('not-found', `${what}: a referenced record does not exist`);
    throw err;
  }
}

const found = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new VigilError('not-found', `no ${what}`);
  return value;
};

export async function listApiRoots(deps: Deps, who: Principal) {
  requireAdmin(who);
  return roots.listApiRoots(deps.database.db);
}

export async function getApiRoot(deps: Deps, who: Principal, name: string) {
  requireAdmin(who);
  return found(await roots.findApiRoot(deps.database.db, name), `API root '${name}'`);
}

export async function createApiRoot(deps: Deps, who: Principal, body: z.infer<typeof s.createApiRootBody>) {
  requireAdmin(who);
  const row = {
    name: body.name,
    title: body.title,
    description: body.description ?? null,
    max_content_length: body.max_content_length ?? deps.config.maxContentLength,
  };
  if (!(await roots.insertApiRoot(deps.database.db, row))) throw new VigilError('conflict', `API root '${body.name}' already exists`);
  return row;
}

export async function updateApiRoot(deps: Deps, who: Principal, name: string, body: z.infer<typeof s.updateApiRootBody>) {
  requireAdmin(who);
  return found(await roots.updateApiRoot(deps.database.db, name, body), `API root '${name}'`);
}

export async function deleteApiRoot(deps: Deps, who: Principal, name: string) {
  requireAdmin(who);
  if (!(await roots.deleteApiRoot(deps.database.db, name))) throw new VigilError('not-found', `no API root '${name}'`);
}

export async function listCollections(deps: Deps, who: Principal, apiRoot?: string) {
  requireAdmin(who);
  return collections.listCollections(deps.database.db, apiRoot);
}

export async function getCollection(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  return found(await collections.findCollection(deps.database.db, id), `collection '${id}'`);
}

export async function createCollection(deps: Deps, who: Principal, body: z.infer<typeof s.createCollectionBody>) {
  requireAdmin(who);
  found(await roots.findApiRoot(deps.database.db, body.api_root), `API root '${body.api_root}'`);
  const row = {
    id: body.id ?? randomUUID(),
    api_root: body.api_root,
    title: body.title,
    description: body.description ?? null,
    alias: body.alias ?? null,
  };
  await unique(collections.insertCollection(deps.database.db, row), `a collection with this id or alias`);
  return row;
}

export async function updateCollection(deps: Deps, who: Principal, id: string, body: z.infer<typeof s.updateCollectionBody>) {
  requireAdmin(who);
  const updated = await unique(collections.updateCollection(deps.database.db, id, body), 'a collection with this alias');
  return found(updated, `collection '${id}'`);
}

export async function deleteCollection(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  if (!(await collections.deleteCollection(deps.database.db, id))) throw new VigilError('not-found', `no collection '${id}'`);
}

async function clientView(deps: Deps, client: clients.ClientRow) {
  return { ...client, grants: await clients.listGrants(deps.database.db, client.id) };
}

export async function listClients(deps: Deps, who: Principal) {
  requireAdmin(who);
  return Promise.all((await clients.listClients(deps.database.db)).map((c) => clientView(deps, c)));
}

export async function getClient(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  return clientView(deps, found(await clients.findClient(deps.database.db, id), `client '${id}'`));
}

/** Creates a client; its token is in this answer and nowhere else, ever. */
export async function createClient(deps: Deps, who: Principal, body: z.infer<typeof s.createClientBody>) {
  requireAdmin(who);
  const token = generateToken();
  const client = { id: randomUUID(), name: body.name };
  await deps.database.db.transaction().execute(async (tx) => {
    await unique(clients.insertClient(tx, { ...client, token_hash: hashToken(token) }), `client '${body.name}'`);
    for (const grant of body.grants ?? []) await unique(clients.putGrant(tx, client.id, grant), `collection '${grant.collection_id}'`);
  });
  return { ...(await clientView(deps, client)), token };
}

export async function updateClient(deps: Deps, who: Principal, id: string, body: z.infer<typeof s.updateClientBody>) {
  requireAdmin(who);
  const updated = await unique(clients.updateClient(deps.database.db, id, body), `client '${body.name}'`);
  return clientView(deps, found(updated, `client '${id}'`));
}

export async function rotateClientToken(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  const token = generateToken();
  const client = found(await clients.updateClient(deps.database.db, id, { token_hash: hashToken(token) }), `client '${id}'`);
  return { ...client, token };
}

export async function deleteClient(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  if (!(await clients.deleteClient(deps.database.db, id))) throw new VigilError('not-found', `no client '${id}'`);
}

export async function putGrant(deps: Deps, who: Principal, clientId: string, grant: clients.GrantRow) {
  requireAdmin(who);
  found(await clients.findClient(deps.database.db, clientId), `client '${clientId}'`);
  found(await collections.findCollection(deps.database.db, grant.collection_id), `collection '${grant.collection_id}'`);
  await clients.putGrant(deps.database.db, clientId, grant);
  return clientView(deps, (await clients.findClient(deps.database.db, clientId))!);
}
