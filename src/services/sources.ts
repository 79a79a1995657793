import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { z } from 'zod';
import type * as s from '../admin/schemas.ts';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { levelName, levelOf } from '../policy/levels.ts';
import { findClientKind } from '../store/clients.ts';
import { findCollection } from '../store/collections.ts';
import * as store from '../store/sources.ts';
import type { SourceStatus } from '../store/sources.ts';
import type { Principal } from './auth.ts';
import { formatMispCursor } from './pull-misp.ts';

// Sources for the admin API and the vigil command. Each function's first line is the
// permission check.

function requireAdmin(who: Principal): void {
  if (who.kind !== 'admin') throw new VigilError('forbidden', 'this needs the admin token');
}

export const DEFAULT_INTERVAL_SECONDS = 60;
/** A TAXII server outside the federation is asked less often unless its admin says otherwise. */
export const DEFAULT_TAXII_INTERVAL_SECONDS = 300;
/** The level of a MISP source's unmarked objects unless its admin says otherwise. */
export const MISP_DEFAULT_TLP = 'AMBER';

function unique(err: unknown): never {
  if ((err as { code?: string }).code === '23505') throw new VigilError('conflict', 'this source already exists');
  throw err;
}

export async function createSource(deps: Deps, who: Principal, body: z.infer<typeof s.createSourceBody>) {
  requireAdmin(who);
  if (body.kind === 'taxii') return createTaxiiSource(deps, who, body);
  if (body.kind === 'misp') return createMispSource(deps, who, body);
  const db = deps.database.db;
  const peer = await findClientKind(db, body.peer_id);
  if (peer?.kind !== 'peer') throw new VigilError('not-found', `no peer client '${body.peer_id}' (create it with kind "peer")`);
  if (!peer.node_id || !peer.base_url)
    throw new VigilError('unprocessable', 'the peer has no node id or base URL yet: pin them first (PUT /admin/clients/{id}/peer)');
  if (!(await findCollection(db, body.collection_id))) throw new VigilError('not-found', `no collection '${body.collection_id}'`);
  const { kind: _, interval_seconds = DEFAULT_INTERVAL_SECONDS, ...where } = body;
  const id = randomUUID();
  await store.insertSource(db, { id, kind: 'peer', ...where, interval_seconds }).catch(unique);
  // A new source is due at once: the scheduler's next tick pulls it.
  return getSource(deps, who, id);
}

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK_NAMES.has(h) || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/**
 * The URL of a server outside the federation, ending in "/", and the collection it feeds. The URL
 * is the admin's to choose, so private addresses are allowed (a CSIRT's own OpenCTI or MISP is
 * often one); plain http only on loopback unless SOURCE_ALLOW_HTTP says.
 */
async function serverAndCollection(deps: Deps, body: { url: string; collection_id: string }): Promise<URL> {
  const url = new URL(body.url);
  if (url.protocol === 'http:' && !deps.config.sourceAllowHttp && !isLoopback(url.hostname))
    throw new VigilError('bad-request', 'url: must be an https:// URL (http:// only on loopback, unless SOURCE_ALLOW_HTTP is set)');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  if (!(await findCollection(deps.database.db, body.collection_id)))
    throw new VigilError('not-found', `no collection '${body.collection_id}'`);
  return url;
}

/** A TAXII server's collection. */
async function createTaxiiSource(deps: Deps, who: Principal, body: z.infer<typeof s.createTaxiiSourceBody>) {
  const db = deps.database.db;
  const url = await serverAndCollection(deps, body);
  const auth = body.auth ?? { kind: 'none' as const };
  const id = randomUUID();
  await store
    .insertSource(db, {
      id,
      kind: 'taxii',
      url: url.href,
      remote_collection_id: body.remote_collection_id,
      collection_id: body.collection_id,
      interval_seconds: body.interval_seconds ?? DEFAULT_TAXII_INTERVAL_SECONDS,
      auth_kind: auth.kind,
      auth_name: auth.kind === 'basic' ? auth.username : auth.kind === 'header' ? auth.name : null,
      auth_secret: auth.kind === 'basic' ? auth.password : auth.kind === 'bearer' ? auth.token : auth.kind === 'header' ? auth.value : null,
      default_tlp: body.default_tlp === undefined ? null : levelOf(body.default_tlp)!,
      cursor: body.since ?? null,
    })
    .catch(unique);
  return getSource(deps, who, id);
}

/**
 * A MISP's events. Unmarked objects are AMBER unless the admin says otherwise: what MISP shares
 * without a TLP tag is shared within its community, not published.
 */
async function createMispSource(deps: Deps, who: Principal, body: z.infer<typeof s.createMispSourceBody>) {
  const url = await serverAndCollection(deps, body);
  const tags = [...new Set(body.tags ?? [])].sort();
  const since =
    body.since === undefined
      ? null
      : /^\d+$/.test(String(body.since))
        ? Number(body.since)
        : Math.floor(Date.parse(String(body.since)) / 1000);
  const id = randomUUID();
  await store
    .insertSource(deps.database.db, {
      id,
      kind: 'misp',
      url: url.href,
      remote_collection_id: 'events',
      collection_id: body.collection_id,
      interval_seconds: body.interval_seconds ?? DEFAULT_TAXII_INTERVAL_SECONDS,
      auth_kind: 'header',
      auth_name: 'Authorization',
      auth_secret: body.key,
      default_tlp: levelOf(body.default_tlp ?? MISP_DEFAULT_TLP)!,
      cursor: formatMispCursor({ since, page: 1, latest: null }),
      filter: { ...(tags.length > 0 ? { tags } : {}), ...(body.published_only ? { published: true as const } : {}) },
    })
    .catch(unique);
  return getSource(deps, who, id);
}

/** A source as the admin API answers: a peer's as before, a server's with its auth kind and user, never the secret. */
function present(row: SourceStatus) {
  const { url, auth_kind, auth_name, default_tlp, filter, ...rest } = row;
  if (row.kind === 'peer') return rest;
  if (row.kind === 'misp') {
    const { peer_id: _, peer_node_id: __, remote_api_root: ___, ...common } = rest;
    const f = filter ?? {};
    return { ...common, url, tags: f.tags ?? [], published_only: f.published === true, default_tlp: levelName(default_tlp ?? 2) };
  }
  const { peer_id: _, peer_node_id: __, remote_api_root: ___, ...common } = rest;
  const auth =
    auth_kind === 'basic'
      ? { kind: auth_kind, username: auth_name }
      : auth_kind === 'header'
        ? { kind: auth_kind, name: auth_name }
        : { kind: auth_kind };
  return { ...common, url, auth, default_tlp: default_tlp === null ? null : levelName(default_tlp) };
}

export async function listSources(deps: Deps, who: Principal) {
  requireAdmin(who);
  return (await store.listSourceStatus(deps.database.db)).map(present);
}

/** Status: last success, lag behind it, consecutive failures, last error, quarantined versions. */
export async function getSource(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  const [row] = await store.listSourceStatus(deps.database.db, id);
  if (!row) throw new VigilError('not-found', `no source '${id}'`);
  return present(row);
}

export async function sourceQuarantine(deps: Deps, who: Principal, id: string) {
  await getSource(deps, who, id);
  return store.listQuarantine(deps.database.db, id);
}

export async function deleteSource(deps: Deps, who: Principal, id: string) {
  requireAdmin(who);
  if (!(await store.deleteSource(deps.database.db, id))) throw new VigilError('not-found', `no source '${id}'`);
}
