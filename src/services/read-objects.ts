import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import type { ObjectFilters, QueryFilters } from '../store/objects-query.ts';
import {
  deleteObjectVersions,
  forgetIdLevel,
  objectExists,
  selectManifest,
  selectManifestWithAccess,
  selectObjects,
  selectObjectsTextWithAccess,
  selectObjectsWithAccess,
  PAGE_CHUNK,
} from '../store/objects.ts';
import type { AccessRefs, ClientProof, ManifestRow, ObjectRow, PageWithAccess } from '../store/objects.ts';
import { readsLatest } from '../store/objects-query.ts';
import { withdrawAggregates } from '../store/sightings.ts';
import { collectionAccess, decideAccess, readableCollection, readerAudience, requireAuthenticated, requireReadable } from './access.ts';
import type { CollectionAccess } from './access.ts';
import { auditInRead, countServed, recipientName, recordDelivery, servedSummary } from './audit.ts';
import type { Principal } from './auth.ts';
import type { ClientHint } from './client-hints.ts';
import { decodeCursor, encodeCursor, filterHash } from './cursor.ts';
import type { CursorBinding } from './cursor.ts';

/**
 * The filters a next token is bound to: all but added_after, which the token's own position
 * replaces. Some clients (Elastic's TAXII integration) follow `next` without repeating it.
 */
function positionless<T extends { after?: unknown }>(filters: T): Omit<T, 'after'> {
  const { after: _after, ...rest } = filters;
  return rest;
}

/** A read as the client asked for it; `next` continues an earlier page with the same filters. */
export type PageRequest = { limit: number; next?: string | undefined; filters: QueryFilters };

export type Page<T> = {
  items: T[];
  more: boolean;
  next?: string;
  first?: string;
  last?: string;
  /** Properties the envelope carries beside `objects` (origin signatures, for peers). */
  extra?: Record<string, unknown>;
};

/** Per object version on a page: where it entered the federation, and that node's signature. */
export type OriginRecord = { id: string; version: string; node: string; signature: string };

type Where = { root: string; collectionId: string };

/**
 * What a next token is bound to: the read and its filters, and the caller it is issued to. Worked
 * out when a token is read or made, not before: most polls do neither (nothing new, or a last page).
 */
function bindingOf(who: Principal, kind: string, where: Where & { objectId?: string }, filters: QueryFilters): () => CursorBinding {
  let binding: CursorBinding | undefined;
  return () =>
    (binding ??= {
      filters: filterHash([kind, where.collectionId, where.objectId ?? null, positionless(filters)]),
      recipient: recipientName(who),
    });
}

/** The client's filters plus the TLP policy for this caller on this collection. */
function policyFilters(access: CollectionAccess, f: QueryFilters): ObjectFilters {
  return { ...f, audience: access.audience, relaxContainers: access.collection.relax_container_refs };
}

// The keyset position is the date_added of a page's last row: unique within a collection.
async function paged<T extends { date_added: string }>(
  deps: Deps,
  who: Principal,
  kind: string,
  where: Where & { objectId?: string },
  req: PageRequest,
  access: CollectionAccess,
  fetch: (filters: ObjectFilters, limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const binding = bindingOf(who, kind, where, req.filters);
  const stated = req.next ? { ...req.filters, after: decodeCursor(deps.cursorKey, req.next, binding()) } : req.filters;
  const limit = Math.min(req.limit, deps.config.pageSizeMax);
  return pageOf(deps, await fetch(policyFilters(access, stated), limit), limit, binding);
}

/** A page from `limit + 1` rows: `more` is exact, `next` the last served position. */
function pageOf<T extends { date_added: string }>(deps: Deps, rows: T[], limit: number, binding: () => CursorBinding): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items, more };
  if (items.length > 0) {
    page.first = items[0]!.date_added;
    page.last = items[items.length - 1]!.date_added;
    if (more) page.next = encodeCursor(deps.cursorKey, page.last, binding());
  }
  return page;
}

async function servedObjects(deps: Deps, who: Principal, access: CollectionAccess, page: Page<ObjectRow>): Promise<Page<ObjectRow>> {
  await recordDelivery(deps, who, access.collection.id, servedSummary(page));
  if (access.audience.kind === 'peer') {
    // Peers get each version's origin signature, passed on unchanged from wherever it began.
    const origins: OriginRecord[] = page.items.flatMap((r) =>
      r.origin_node && r.origin_signature ? [{ id: r.id, version: r.version, node: r.origin_node, signature: r.origin_signature }] : [],
    );
    if (origins.length) page.extra = { x_vigil_origins: origins };
  }
  return page;
}

type Db = Deps['database']['db'];

type WithAccess<T> = (
  db: Db,
  reader: Parameters<typeof selectObjectsWithAccess>[1],
  filtersFor: (acc: AccessRefs) => ObjectFilters,
  limit: number,
) => Promise<PageWithAccess<T>>;

/** What a read of latest versions needs: its token binding, the filters as stated (the cursor's position applied), the limit, and the reader. */
type LatestRead = {
  binding: () => CursorBinding;
  stated: QueryFilters;
  limit: number;
  reader: { apiRoot: string; collectionId: string; clientId: string | null; right: 'admin' | 'public' | 'grant' };
};

/**
 * A read of a collection's latest versions (no match[version] or match[spec_version] beyond the
 * default) gets the caller's rights and the page from one statement; undefined for other reads.
 */
async function latestRead(deps: Deps, who: Principal, kind: string, w: Where, req: PageRequest): Promise<LatestRead | undefined> {
  if (!readsLatest({ ...req.filters, audience: { kind: 'admin' } })) return undefined;
  const binding = bindingOf(who, kind, w, req.filters);
  let stated: QueryFilters = req.filters;
  if (req.next) {
    try {
      stated = { ...req.filters, after: decodeCursor(deps.cursorKey, req.next, binding()) };
    } catch (err) {
      // As before: no right on the collection answers first, whatever the token.
      await readableCollection(deps, who, w.root, w.collectionId);
      throw err;
    }
  }
  const limit = Math.min(req.limit, deps.config.pageSizeMax);
  const right = who.kind === 'admin' ? 'admin' : who.kind === 'anonymous' ? 'public' : 'grant';
  return {
    binding,
    stated,
    limit,
    reader: { apiRoot: w.root, collectionId: w.collectionId, clientId: who.kind === 'client' ? who.id : null, right },
  };
}

/** The policy filters of a latest read, once the statement's access row is known (see decideAccess). */
function latestFilters(who: Principal, stated: QueryFilters) {
  return (acc: AccessRefs): ObjectFilters => ({ ...stated, audience: readerAudience(who, acc.red), relaxContainers: acc.relaxContainers });
}

/**
 * A page of a collection: for latest versions, the caller's rights and the page come from one
 * statement, and are decided exactly as readableCollection does. Other reads check the rights
 * first, then read.
 */
async function collectionPage<T extends { date_added: string }>(
  deps: Deps,
  db: Db,
  who: Principal,
  kind: string,
  w: Where,
  req: PageRequest,
  withAccess: WithAccess<T>,
  fetch: (filters: ObjectFilters, limit: number) => Promise<T[]>,
): Promise<{ access: CollectionAccess; page: Page<T> }> {
  const latest = await latestRead(deps, who, kind, w, req);
  if (!latest) {
    const access = await readableCollection(deps, who, w.root, w.collectionId);
    return { access, page: await paged(deps, who, kind, w, req, access, fetch) };
  }
  const found = await withAccess(db, latest.reader, latestFilters(who, latest.stated), latest.limit);
  const access = requireReadable(decideAccess(who, w.root, w.collectionId, found.access));
  return { access, page: pageOf(deps, found.rows, latest.limit, latest.binding) };
}

export async function getObjects(deps: Deps, who: Principal, w: Where, req: PageRequest): Promise<Page<ObjectRow>> {
  const db = deps.database.read();
  const { access, page } = await collectionPage(deps, db, who, 'objects', w, req, selectObjectsWithAccess, (f, limit) =>
    selectObjects(db, w.collectionId, f, limit),
  );
  return servedObjects(deps, who, access, page);
}

/**
 * An objects page as text, ready to send: `objects` is the JSON of `count` objects, comma-joined
 * in chunks of PAGE_CHUNK (so no page is one string big enough for V8's large-object space);
 * `origins` (peers only) the origin records, chunked alike. Pages of latest versions are built
 * by PostgreSQL (selectObjectsTextWithAccess); other reads join the rows of getObjects.
 */
export type ObjectsPage = Omit<Page<never>, 'items' | 'extra'> & { count: number; objects: string[]; origins?: string[] };

function proofOf({ principal, tokenHash }: ClientHint): ClientProof {
  return { tokenHash, name: principal.name, clearance: principal.clearance, ownOrg: principal.ownOrg, peerAmber: principal.peerAmber };
}

/** Texts comma-joined PAGE_CHUNK at a time. */
function joinInChunks(texts: string[]): string[] {
  const chunks: string[] = [];
  for (let at = 0; at < texts.length; at += PAGE_CHUNK) chunks.push(texts.slice(at, at + PAGE_CHUNK).join(','));
  return chunks;
}

/** A read on a client hint that the hint could not serve: the caller proves the credentials, then reads again. */
class Unproven extends Error {
  constructor() {
    super('the client hint did not hold');
  }
}

/**
 * `hint`: the read is on a client hint (`who` is its principal), proved in the page's statement;
 * Unproven when it does not hold or the read is not one statement of latest versions.
 */
export async function getObjectsPage(deps: Deps, who: Principal, w: Where, req: PageRequest, hint?: ClientHint): Promise<ObjectsPage> {
  const latest = await latestRead(deps, who, 'objects', w, req);
  if (!latest && hint) throw new Unproven();
  if (!latest) {
    const { items, extra, ...page } = await getObjects(deps, who, w, req);
    const origins = extra?.x_vigil_origins as OriginRecord[] | undefined;
    return {
      ...page,
      count: items.length,
      objects: joinInChunks(items.map((r) => r.json)),
      ...(origins ? { origins: joinInChunks(origins.map((o) => JSON.stringify(o))) } : {}),
    };
  }
  const peer = who.kind === 'client' && who.role === 'peer';
  const audit = auditInRead(deps, who);
  const found = await selectObjectsTextWithAccess(
    deps.database.read(),
    latest.reader,
    latestFilters(who, latest.stated),
    latest.limit,
    peer,
    hint && proofOf(hint),
    audit,
  );
  if (!found.proven) throw new Unproven();
  const access = requireReadable(decideAccess(who, w.root, w.collectionId, found.access));
  const text = found.page!;
  const count = Math.min(text.fetched, latest.limit);
  const page: ObjectsPage = { more: text.fetched > latest.limit, count, objects: text.objects };
  if (count > 0 && text.first && text.last) {
    page.first = text.first;
    page.last = text.last;
    if (page.more) page.next = encodeCursor(deps.cursorKey, text.last, latest.binding());
  }
  if (audit) countServed(deps, access.collection.id, text.levels);
  else await recordDelivery(deps, who, access.collection.id, { count, levels: text.levels, first: page.first, last: page.last });
  if (access.audience.kind === 'peer' && text.origins.length > 0) page.origins = text.origins;
  return page;
}

export async function getManifest(deps: Deps, who: Principal, w: Where, req: PageRequest): Promise<Page<ManifestRow>> {
  const db = deps.database.read();
  return (
    await collectionPage(deps, db, who, 'manifest', w, req, selectManifestWithAccess, (f, limit) =>
      selectManifest(db, w.collectionId, f, limit),
    )
  ).page;
}

/** An object the caller may not see answers 404, exactly as one that does not exist. */
async function requireObject(db: Db, access: CollectionAccess, objectId: string): Promise<void> {
  const f = policyFilters(access, { ids: [objectId] });
  if (!(await objectExists(db, access.collection.id, f))) {
    throw new VigilError('not-found', `no object '${objectId}' in this collection`);
  }
}

/** TAXII 2.1 §5.6: the versions of one object that the filters select. */
export async function getObject(deps: Deps, who: Principal, w: Where & { objectId: string }, req: PageRequest): Promise<Page<ObjectRow>> {
  const access = await readableCollection(deps, who, w.root, w.collectionId);
  const db = deps.database.read();
  await requireObject(db, access, w.objectId);
  const r = { ...req, filters: { ...req.filters, ids: [w.objectId] } };
  const page = await paged(deps, who, 'object', w, r, access, (f, limit) => selectObjects(db, w.collectionId, f, limit));
  return servedObjects(deps, who, access, page);
}

/** TAXII 2.1 §5.8: every version of one object, oldest first. */
export async function getVersions(
  deps: Deps,
  who: Principal,
  w: Where & { objectId: string },
  req: PageRequest,
): Promise<Page<ManifestRow>> {
  const access = await readableCollection(deps, who, w.root, w.collectionId);
  const db = deps.database.read();
  await requireObject(db, access, w.objectId);
  const r = { ...req, filters: { ...req.filters, ids: [w.objectId], versions: [{ kind: 'all' as const }] } };
  return paged(deps, who, 'versions', w, r, access, (f, limit) => selectManifest(db, w.collectionId, f, limit));
}

/** TAXII 2.1 §5.7: without filters every version goes. Needs both read and write rights. */
export async function deleteObject(deps: Deps, who: Principal, w: Where & { objectId: string }, filters: QueryFilters): Promise<void> {
  requireAuthenticated(who);
  const access = await collectionAccess(deps, who, w.root, w.collectionId);
  if (!access.canRead || !access.canWrite) throw new VigilError('forbidden', 'deleting needs read and write rights on the collection');
  await requireObject(deps.database.db, access, w.objectId);
  const f = policyFilters(access, { ...filters, ids: [w.objectId], versions: filters.versions ?? [{ kind: 'all' }] });
  await deps.database.db.transaction().execute(async (tx) => {
    await deleteObjectVersions(tx, w.collectionId, { ...f, anySpecVersion: true });
    // An indicator gone from the collection takes its aggregate sightings with it (docs/sightings.md).
    await withdrawAggregates(tx, w.collectionId, w.objectId);
    // The strictest level ever seen stays with an id, except when the admin removes it whole:
    // that is how an object denied for an unknown TLP-like marking gets a fresh start (one that
    // waits for a missing definition is released when the definition arrives: store/waiting.ts).
    if (who.kind === 'admin') await forgetIdLevel(tx, w.collectionId, w.objectId);
  });
}
