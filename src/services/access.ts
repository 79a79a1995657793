import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { clientAudience } from '../policy/audience.ts';
import type { Audience } from '../policy/audience.ts';
import { findApiRoot } from '../store/api-roots.ts';
import type { ApiRootRow } from '../store/api-roots.ts';
import { listGrants } from '../store/clients.ts';
import { findCollectionAccess, listCollections } from '../store/collections.ts';
import type { CollectionAccessRow, CollectionRow } from '../store/collections.ts';
import type { Level } from '../policy/levels.ts';
import type { ClientPrincipal, Principal } from './auth.ts';

/** The caller's rights on a collection, and who its reads are for under the TLP policy. */
export type CollectionAccess = {
  collection: CollectionRow;
  canRead: boolean;
  canWrite: boolean;
  audience: Audience;
};

const unauthorized = () => new VigilError('unauthorized', 'send a Bearer token, or HTTP Basic with your client name and token');

/** Everything but a public collection's read endpoints needs credentials. */
export function requireAuthenticated(who: Principal): asserts who is Exclude<Principal, { kind: 'anonymous' }> {
  if (who.kind === 'anonymous') throw unauthorized();
}

export async function requireApiRoot(deps: Deps, name: string): Promise<ApiRootRow> {
  const root = await findApiRoot(deps.database.db, name);
  if (!root) throw new VigilError('not-found', `no API root named '${name}'`);
  return root;
}

function audienceOf<R>(who: ClientPrincipal, redRecipient: R): Audience | { kind: 'client'; maxLevel: Level; red: R } {
  if (who.role === 'peer') return { kind: 'peer', amber: who.peerAmber };
  const { maxLevel } = clientAudience(who.clearance, who.ownOrg, false) as { maxLevel: Level };
  return { kind: 'client', maxLevel, red: redRecipient };
}

/**
 * Who a read is for before the caller's rights are read: a client's RED naming is `red` (a
 * condition the read's own statement evaluates). Decided again by decideAccess afterwards.
 */
export function readerAudience<R>(who: Principal, red: R): Audience | { kind: 'client'; maxLevel: Level; red: R } {
  if (who.kind === 'anonymous') return { kind: 'public' };
  if (who.kind === 'admin') return { kind: 'admin' };
  return audienceOf(who, red);
}

/** The caller's rights on a collection as found (undefined: no such API root); throws as TAXII answers. */
export function decideAccess(
  who: Principal,
  apiRoot: string,
  collectionId: string,
  found: CollectionAccessRow | undefined,
): CollectionAccess {
  if (!found) throw new VigilError('not-found', `no API root named '${apiRoot}'`);
  const { collection, grant } = found;
  const notFound = () => new VigilError('not-found', `no collection '${collectionId}' in API root '${apiRoot}'`);
  if (who.kind === 'anonymous') {
    if (!collection?.public) throw unauthorized();
    return { collection, canRead: true, canWrite: false, audience: { kind: 'public' } };
  }
  if (!collection) throw notFound();
  if (who.kind === 'admin') return { collection, canRead: true, canWrite: true, audience: { kind: 'admin' } };
  if (!grant || (!grant.can_read && !grant.can_write)) throw notFound();
  return { collection, canRead: grant.can_read, canWrite: grant.can_write, audience: audienceOf(who, found.red) as Audience };
}

/**
 * The caller's rights on a collection; one it has no right on does not exist for it (404).
 * The API root is checked here too, in the same query: no such root is a 404 before anything.
 */
export async function collectionAccess(deps: Deps, who: Principal, apiRoot: string, collectionId: string): Promise<CollectionAccess> {
  const found = await findCollectionAccess(deps.database.db, apiRoot, collectionId, who.kind === 'client' ? who.id : null);
  return decideAccess(who, apiRoot, collectionId, found);
}

export function requireReadable(access: CollectionAccess): CollectionAccess {
  if (!access.canRead) throw new VigilError('forbidden', 'this client may not read this collection');
  return access;
}

export async function readableCollection(deps: Deps, who: Principal, apiRoot: string, collectionId: string): Promise<CollectionAccess> {
  return requireReadable(await collectionAccess(deps, who, apiRoot, collectionId));
}

export async function writableCollection(deps: Deps, who: Principal, apiRoot: string, collectionId: string): Promise<CollectionAccess> {
  const access = await collectionAccess(deps, who, apiRoot, collectionId);
  if (!access.canWrite) throw new VigilError('forbidden', 'this client may not write to this collection');
  return access;
}

type Visible = Omit<CollectionAccess, 'audience'>;

/** The collections of an API root that the caller may read or write, sorted by id. */
export async function visibleCollections(deps: Deps, who: Principal, apiRoot: string): Promise<Visible[]> {
  requireAuthenticated(who);
  const all = await listCollections(deps.database.db, apiRoot);
  if (who.kind === 'admin') return all.map((collection) => ({ collection, canRead: true, canWrite: true }));
  const grants = new Map((await listGrants(deps.database.db, who.id)).map((g) => [g.collection_id, g]));
  return all.flatMap((collection) => {
    const g = grants.get(collection.id);
    return g && (g.can_read || g.can_write) ? [{ collection, canRead: g.can_read, canWrite: g.can_write }] : [];
  });
}
