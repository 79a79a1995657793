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
import { levelName, levelOf } from '../policy/levels.ts';
import { denyCause, waitingReason } from '../policy/markings.ts';
import { deliveriesOfObject } from '../store/deliveries.ts';
import { listDenied, objectProvenance as provenance } from '../store/objects.ts';
import * as peers from '../store/peers.ts';
import { calculateJwkThumbprint } from 'jose';
import { readIntake } from '../federation/origin-signature.ts';

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

/** A collection as the admin API shows it: policy levels by name, RED recipients listed. */
async function collectionView(deps: Deps, c: collections.CollectionRow) {
  const { default_level, ...rest } = c;
  return { ...rest, default_level: levelName(default_level), red_recipients: await collections.listRedRecipients(deps.database.db, c.id) };
}

function collectionPolicyRow(body: {
  default_level?: string | undefined;
  pap_green_only?: boolean | undefined;
  relax_container_refs?: boolean | undefined;
  public?: boolean | undefined;
}) {
  return {
    ...(body.default_level !== undefined ? { default_level: levelOf(body.default_level)! } : {}),
    ...(body.pap_green_only !== undefined ? { pap_green_only: body.pap_green_only } : {}),
    ...(body.relax_container_refs !== undefined ? { relax_container_refs: body.relax_container_refs } : {}),
    ...(body.public !== undefined ? { public: body.public } : {}),
  };
}

export async function listCollections(deps: Deps, who: Principal, apiRoot?: string) {
  requireAdmin(who);
  return Promise.all((await collections.listCollections(deps.database.db, apiRoot)).map((c) => collectionView(deps, c)));
}

export async function getCollection(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  return collectionView(deps, found(await collections.findCollection(deps.database.db, id), `collection '${id}'`));
}

export async function createCollection(deps: Deps, who: Principal, body: z.infer<typeof s.createCollectionBody>) {
  requireAdmin(who);
  found(await roots.findApiRoot(deps.database.db, body.api_root), `API root '${body.api_root}'`);
  const id = body.id ?? randomUUID();
  const row = {
    id,
    api_root: body.api_root,
    title: body.title,
    description: body.description ?? null,
    alias: body.alias ?? null,
    ...collectionPolicyRow(body),
  };
  await unique(collections.insertCollection(deps.database.db, row), `a collection with this id or alias`);
  return collectionView(deps, (await collections.findCollection(deps.database.db, id))!);
}

export async function updateCollection(deps: Deps, who: Principal, id: string, body: z.infer<typeof s.updateCollectionBody>) {
  requireAdmin(who);
  const { default_level: _l, pap_green_only: _p, relax_container_refs: _r, public: _pub, ...plain } = body;
  const updated = await unique(
    collections.updateCollection(deps.database.db, id, { ...plain, ...collectionPolicyRow(body) }),
    'a collection with this alias',
  );
  return collectionView(deps, found(updated, `collection '${id}'`));
}

/** Names a client as a RED recipient of a collection (or, with `named` false, no longer). */
export async function setRedRecipient(deps: Deps, who: Principal, collectionId: string, clientId: string, named: boolean) {
  requireAdmin(who);
  const collection = found(await collections.findCollection(deps.database.db, collectionId), `collection '${collectionId}'`);
  found(await clients.findClient(deps.database.db, clientId), `client '${clientId}'`);
  await collections.setRedRecipient(deps.database.db, collectionId, clientId, named);
  return collectionView(deps, collection);
}

/** "Who received this object?": the recorded AMBER+ pages that covered one of its versions. */
export async function objectRecipients(deps: Deps, who: Principal, collectionId: string, objectId: string) {
  requireAdmin(who);
  found(await collections.findCollection(deps.database.db, collectionId), `collection '${collectionId}'`);
  const rows = await deliveriesOfObject(deps.database.db, collectionId, objectId);
  return rows.map((d) => ({ ...d, max_level: levelName(d.max_level) }));
}

/** An object's versions with their TLP level and provenance: where each came from, who originated it. */
export async function objectProvenance(deps: Deps, who: Principal, collectionId: string, objectId: string) {
  requireAdmin(who);
  found(await collections.findCollection(deps.database.db, collectionId), `collection '${collectionId}'`);
  const versions = await provenance(deps.database.db, collectionId, objectId);
  if (versions.length === 0) throw new VigilError('not-found', `no object '${objectId}' in this collection`);
  // `intake`: the version came from a TAXII server, outside the federation; origin_node took it in
  // and signed it as such, vouching for where it came from, not for its content.
  return versions.map(({ tlp_level, ...v }) => ({ ...v, tlp_level: levelName(tlp_level), intake: readIntake(v.origin_signature) ?? null }));
}

/** Versions listed at most by the withheld listing; `truncated` says when there are more. */
const WITHHELD_LIMIT = 10_000;

/**
 * A collection's versions served to nobody, with why: waiting for a marking definition (and
 * which), an unknown TLP-like marking, a marking the collection or the federation refuses, or
 * another version of the same object withheld. `waiting` counts the versions each missing
 * definition holds back: what to send to release them.
 */
export async function deniedObjects(deps: Deps, who: Principal, collectionId: string) {
  requireAdmin(who);
  found(await collections.findCollection(deps.database.db, collectionId), `collection '${collectionId}'`);
  const rows = await listDenied(deps.database.db, collectionId, WITHHELD_LIMIT + 1);
  const objects = rows.slice(0, WITHHELD_LIMIT).map(({ unresolved_refs, reason, ...row }) => {
    if (unresolved_refs.length > 0)
      return { ...row, cause: 'unresolved-marking', reason: waitingReason(unresolved_refs), waiting_for: unresolved_refs };
    if (reason === null) return { ...row, cause: 'other-version', reason: 'another version of this object is withheld', waiting_for: [] };
    return { ...row, cause: denyCause(reason), reason, waiting_for: [] };
  });
  const counts = new Map<string, number>();
  for (const o of objects) for (const id of o.waiting_for) counts.set(id, (counts.get(id) ?? 0) + 1);
  const waiting = [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([id, n]) => ({ marking_definition: id, objects: n }));
  return { objects, waiting, truncated: rows.length > WITHHELD_LIMIT };
}

export async function deleteCollection(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  if (!(await collections.deleteCollection(deps.database.db, id))) throw new VigilError('not-found', `no collection '${id}'`);
}

async function clientView(deps: Deps, client: clients.ClientRow) {
  const policy = await clients.findClientPolicy(deps.database.db, client.id);
  return {
    ...client,
    kind: policy.kind,
    clearance: levelName(policy.clearance),
    own_org: policy.own_org,
    peer_amber: policy.peer_amber,
    organisation: policy.organisation,
    grants: await clients.listGrants(deps.database.db, client.id),
  };
}

function clientPolicyRow(body: {
  kind?: 'client' | 'peer' | 'feed' | undefined;
  clearance?: string | undefined;
  own_org?: boolean | undefined;
  peer_amber?: boolean | undefined;
  organisation?: string | null | undefined;
}) {
  return {
    ...(body.kind !== undefined ? { kind: body.kind } : {}),
    ...(body.clearance !== undefined ? { clearance: levelOf(body.clearance)! } : {}),
    ...(body.own_org !== undefined ? { own_org: body.own_org } : {}),
    ...(body.peer_amber !== undefined ? { peer_amber: body.peer_amber } : {}),
    ...(body.organisation !== undefined ? { organisation: body.organisation } : {}),
  };
}

export async function listClients(deps: Deps, who: Principal) {
  requireAdmin(who);
  return Promise.all((await clients.listClients(deps.database.db)).map((c) => clientView(deps, c)));
}

export async function getClient(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  return clientView(deps, found(await clients.findClient(deps.database.db, id), `client '${id}'`));
}

/** A peer has no token: it signs each request (peer-auth.ts). The column holds a hash of one nobody is given. */
const noTokenHash = () => hashToken(generateToken());

/** A feed client reads feeds and nothing else: a write right would be a right its token could never use, or worse. */
function refuseFeedWrites(grants: { collection_id: string; can_write: boolean }[]): void {
  const written = grants.find((g) => g.can_write);
  if (written)
    throw new VigilError('bad-request', `a feed client only reads feeds: it may not write to collection '${written.collection_id}'`);
}

/** Creates a client; its token is in this answer and nowhere else, ever. A peer gets none. */
export async function createClient(deps: Deps, who: Principal, body: z.infer<typeof s.createClientBody>) {
  requireAdmin(who);
  if (body.kind === 'feed') refuseFeedWrites(body.grants ?? []);
  const token = body.kind === 'peer' ? undefined : generateToken();
  const client = { id: randomUUID(), name: body.name };
  await deps.database.db.transaction().execute(async (tx) => {
    await unique(
      clients.insertClient(tx, { ...client, ...clientPolicyRow(body), token_hash: token ? hashToken(token) : noTokenHash() }),
      `client '${body.name}'`,
    );
    for (const grant of body.grants ?? []) await unique(clients.putGrant(tx, client.id, grant), `collection '${grant.collection_id}'`);
  });
  return { ...(await clientView(deps, client)), ...(token ? { token } : {}) };
}

/** A client made a peer loses its token for good; a peer made a client has none until rotateClientToken. */
export async function updateClient(deps: Deps, who: Principal, id: string, body: z.infer<typeof s.updateClientBody>) {
  requireAdmin(who);
  if (body.kind === 'feed') refuseFeedWrites(await clients.listGrants(deps.database.db, id));
  const patch = {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...clientPolicyRow(body),
    ...(body.kind === 'peer' ? { token_hash: noTokenHash() } : {}),
  };
  const updated = await unique(clients.updateClient(deps.database.db, id, patch), `client '${body.name}'`);
  return clientView(deps, found(updated, `client '${id}'`));
}

export async function rotateClientToken(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  found(await clients.findClient(deps.database.db, id), `client '${id}'`);
  if ((await clients.findClientPolicy(deps.database.db, id)).kind === 'peer') {
    throw new VigilError(
      'conflict',
      `client '${id}' is a peer node: it has no token and signs its requests; pin its keys with PUT /admin/clients/${id}/peer`,
    );
  }
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
  if ((await clients.findClientPolicy(deps.database.db, clientId)).kind === 'feed') refuseFeedWrites([grant]);
  await clients.putGrant(deps.database.db, clientId, grant);
  return clientView(deps, (await clients.findClient(deps.database.db, clientId))!);
}

/** Pins a peer node's id, URL and public keys (each stored under its RFC 7638 thumbprint). */
export async function setPeerIdentity(deps: Deps, who: Principal, clientId: string, body: z.infer<typeof s.peerIdentityBody>) {
  requireAdmin(who);
  const keys = [];
  for (const k of body.keys) {
    const kid = await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x }, 'sha256');
    if (k.kid !== undefined && k.kid !== kid)
      throw new VigilError('bad-request', `keys: kid ${k.kid} is not the key's RFC 7638 thumbprint (${kid})`);
    keys.push({ kty: k.kty, crv: k.crv, x: k.x, kid, alg: 'EdDSA', use: 'sig' });
  }
  const ok = await unique(
    peers.setPeerIdentity(deps.database.db, clientId, { node_id: body.node_id, base_url: body.base_url ?? null, pinned_keys: keys }),
    `a peer with node id '${body.node_id}'`,
  );
  if (!ok) throw new VigilError('not-found', `no peer client '${clientId}' (create it with kind "peer")`);
  return { ...(await getClient(deps, who, clientId)), node_id: body.node_id, base_url: body.base_url ?? null, keys };
}
