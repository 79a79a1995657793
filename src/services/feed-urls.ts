import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { FEED_KINDS } from '../stix/feed-values.ts';
import { listApiRoots } from '../store/api-roots.ts';
import { requireAuthenticated, visibleCollections } from './access.ts';
import type { Principal } from './auth.ts';
import type { FeedFormat } from './feeds.ts';

// Where a caller points its devices (docs/feeds.md): the URLs of the feeds of each collection it
// may read, built from the node's public URL. They never hold a token: a device adds its feed
// client's, in a header or as ?token=.

export type CollectionFeeds = { collection_id: string; api_root: string; title: string; urls: Record<FeedFormat, string> };

/** The base devices reach this node at: PUBLIC_URL, else the origin this request came to. */
export const publicBase = (deps: Deps, requestUrl: string): string => deps.config.publicUrl ?? new URL(requestUrl).origin;

/** The seven lists of a collection: one per kind, and the CSV. */
export function feedUrls(base: string, collectionId: string): Record<FeedFormat, string> {
  const at = `${base}/feeds/${collectionId}/`;
  return {
    ...(Object.fromEntries(FEED_KINDS.map((k) => [k, `${at}${k}.txt`])) as Record<(typeof FEED_KINDS)[number], string>),
    csv: `${at}indicators.csv`,
  };
}

/** The feeds of every collection the caller may read (or of that one collection: 404 if it may not read it). */
export async function readableFeeds(deps: Deps, who: Principal, base: string, collectionId?: string): Promise<CollectionFeeds[]> {
  requireAuthenticated(who);
  const out: CollectionFeeds[] = [];
  for (const root of await listApiRoots(deps.database.db)) {
    for (const { collection, canRead } of await visibleCollections(deps, who, root.name)) {
      if (!canRead || (collectionId !== undefined && collection.id !== collectionId)) continue;
      out.push({ collection_id: collection.id, api_root: root.name, title: collection.title, urls: feedUrls(base, collection.id) });
    }
  }
  if (collectionId !== undefined && out.length === 0) throw new VigilError('not-found', `no collection '${collectionId}'`);
  return out;
}
