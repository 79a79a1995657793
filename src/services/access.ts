import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { findApiRoot } from '../store/api-roots.ts';
import type { ApiRootRow } from '../store/api-roots.ts';
import { findGrant, listGrants } from '../store/clients.ts';
import { findCollection, listCollections } from '../store/collections.ts';
import type { CollectionRow } from '../store/collections.ts';
import type { Principal } from './auth.ts';

export type CollectionAccess = { collection: CollectionRow; canRead: boolean; canWrite: boolean };

export async function requireApiRoot(deps: Deps, name: string): Promise<ApiRootRow> {
  const root = await findApiRoot(deps.database.db, name);
  if (!root) throw new VigilError('not-found', `no API root named '${name}'`);
  return root;
}

/** The caller's rights on a collection; one it has no right on does not exist for it (404). */
export async function collectionAccess(deps: Deps, who: Principal, apiRoot: string, collectionId: string): Promise<CollectionAccess> {
  const collection = await findCollection(deps.database.db, collectionId);
  const notFound = new VigilError('not-found', `no collection '${collectionId}' in API root '${apiRoot}'`);
  if (!collection || collection.api_root !== apiRoot) throw notFound;
  if (who.kind === 'admin') return { collection, canRead: true, canWrite: true };
  const grant = await findGrant(deps.database.db, who.id, collectionId);
  if (!grant || (!grant.can_read && !grant.can_write)) throw notFound;
  return { collection, canRead: grant.can_read, canWrite: grant.can_write };
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

/** The collections of an API root that the caller may read or write, sorted by id. */
export async function visibleCollections(deps: Deps, who: Principal, apiRoot: string): Promise<CollectionAccess[]> {
  const all = await listCollections(deps.database.db, apiRoot);
  if (who.kind === 'admin') return all.map((collection) => ({ collection, canRead: true, canWrite: true }));
  const grants = new Map((await listGrants(deps.database.db, who.id)).map((g) => [g.collection_id, g]));
  return all.flatMap((collection) => {
    const g = grants.get(collection.id);
    return g && (g.can_read || g.can_write) ? [{ collection, canRead: g.can_read, canWrite: g.can_write }] : [];
  });
}
