import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { clientAudience } from '../policy/audience.ts';
import type { Audience } from '../policy/audience.ts';
import { findApiRoot } from '../store/api-roots.ts';
import type { ApiRootRow } from '../store/api-roots.ts';
import { findGrant, isRedRecipient, listGrants } from '../store/clients.ts';
import { findCollection, listCollections } from '../store/collections.ts';
import type { CollectionRow } from '../store/collections.ts';
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

async function audienceOf(deps: Deps, who: ClientPrincipal, collectionId: string): Promise<Audience> {
  if (who.role === 'peer') return { kind: 'peer', amber: who.peerAmber };
  return clientAudience(who.clearance, who.ownOrg, await isRedRecipient(deps.database.db, collectionId, who.id));
}

/** The caller's rights on a collection; one it has no right on does not exist for it (404). */
export async function collectionAccess(deps: Deps, who: Principal, apiRoot: string, collectionId: string): Promise<CollectionAccess> {
  const collection = await findCollection(deps.database.db, collectionId);
  const notFound = new VigilError('not-found', `no collection '${collectionId}' in API root '${apiRoot}'`);
  if (who.kind === 'anonymous') {
    if (!collection?.public || collection.api_root !== apiRoot) throw unauthorized();
    return { collection, canRead: true, canWrite: false, audience: { kind: 'public' } };
  }
  if (!collection || collection.api_root !== apiRoot) throw notFound;
  if (who.kind === 'admin') return { collection, canRead: true, canWrite: true, audience: { kind: 'admin' } };
  const grant = await findGrant(deps.database.db, who.id, collectionId);
  if (!grant || (!grant.can_read && !grant.can_write)) throw notFound;
  return { collection, canRead: grant.can_read, canWrite: grant.can_write, audience: await audienceOf(deps, who, collectionId) };
}

export async function readableCollection(deps: Deps, who: Principal, apiRoot: string, collectionId: string): Promise<CollectionAccess> {
  const access = await collectionAccess(deps, who, apiRoot, collectionId);
  if (!access.canRead) throw new VigilError('forbidden', 'this client may not read this collection');
  return access;
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
