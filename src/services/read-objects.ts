import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import type { ObjectFilters } from '../store/objects-query.ts';
import { deleteObjectVersions, objectExists, selectManifest, selectObjects } from '../store/objects.ts';
import type { ManifestRow, ObjectRow } from '../store/objects.ts';
import { readableCollection, collectionAccess } from './access.ts';
import type { Principal } from './auth.ts';
import { decodeCursor, encodeCursor, filterHash } from './cursor.ts';

/** A read as the client asked for it; `next` continues an earlier page with the same filters. */
export type PageRequest = { limit: number; next?: string | undefined; filters: ObjectFilters };

export type Page<T> = { items: T[]; more: boolean; next?: string; first?: string; last?: string };

type Where = { root: string; collectionId: string };

// The keyset position is the date_added of a page's last row: unique within a collection.
async function paged<T extends { date_added: string }>(
  deps: Deps,
  kind: string,
  where: Where & { objectId?: string },
  req: PageRequest,
  fetch: (filters: ObjectFilters, limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const hash = filterHash([kind, where.collectionId, where.objectId ?? null, req.filters]);
  const filters = req.next ? { ...req.filters, after: decodeCursor(deps.cursorKey, req.next, hash) } : req.filters;
  const limit = Math.min(req.limit, deps.config.pageSizeMax);
  const rows = await fetch(filters, limit);
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items, more };
  if (items.length > 0) {
    page.first = items[0]!.date_added;
    page.last = items[items.length - 1]!.date_added;
    if (more) page.next = encodeCursor(deps.cursorKey, page.last, hash);
  }
  return page;
}

export async function getObjects(deps: Deps, who: Principal, w: Where, req: PageRequest): Promise<Page<ObjectRow>> {
  await readableCollection(deps, who, w.root, w.collectionId);
  return paged(deps, 'objects', w, req, (f, limit) => selectObjects(deps.database.db, w.collectionId, f, limit));
}

export async function getManifest(deps: Deps, who: Principal, w: Where, req: PageRequest): Promise<Page<ManifestRow>> {
  await readableCollection(deps, who, w.root, w.collectionId);
  return paged(deps, 'manifest', w, req, (f, limit) => selectManifest(deps.database.db, w.collectionId, f, limit));
}

async function requireObject(deps: Deps, collectionId: string, objectId: string): Promise<void> {
  if (!(await objectExists(deps.database.db, collectionId, objectId))) {
    throw new VigilError('not-found', `no object '${objectId}' in this collection`);
  }
}

/** TAXII 2.1 §5.6: the versions of one object that the filters select. */
export async function getObject(deps: Deps, who: Principal, w: Where & { objectId: string }, req: PageRequest): Promise<Page<ObjectRow>> {
  await readableCollection(deps, who, w.root, w.collectionId);
  await requireObject(deps, w.collectionId, w.objectId);
  const r = { ...req, filters: { ...req.filters, ids: [w.objectId] } };
  return paged(deps, 'object', w, r, (f, limit) => selectObjects(deps.database.db, w.collectionId, f, limit));
}

/** TAXII 2.1 §5.8: every version of one object, oldest first. */
export async function getVersions(deps: Deps, who: Principal, w: Where & { objectId: string }, req: PageRequest): Promise<Page<ManifestRow>> {
  await readableCollection(deps, who, w.root, w.collectionId);
  await requireObject(deps, w.collectionId, w.objectId);
  const r = { ...req, filters: { ...req.filters, ids: [w.objectId], versions: [{ kind: 'all' as const }] } };
  return paged(deps, 'versions', w, r, (f, limit) => selectManifest(deps.database.db, w.collectionId, f, limit));
}

/** TAXII 2.1 §5.7: without filters every version goes. Needs both read and write rights. */
export async function deleteObject(deps: Deps, who: Principal, w: Where & { objectId: string }, filters: ObjectFilters): Promise<void> {
  const access = await collectionAccess(deps, who, w.root, w.collectionId);
  if (!access.canRead || !access.canWrite) throw new VigilError('forbidden', 'deleting needs read and write rights on the collection');
  await requireObject(deps, w.collectionId, w.objectId);
  const f: ObjectFilters = { ...filters, ids: [w.objectId], versions: filters.versions ?? [{ kind: 'all' }], anySpecVersion: true };
  await deleteObjectVersions(deps.database.db, w.collectionId, f);
}
