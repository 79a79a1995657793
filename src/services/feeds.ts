import { createHash } from 'node:crypto';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { levelName } from '../policy/levels.ts';
import type { FeedKind } from '../stix/feed-values.ts';
import { findCollection } from '../store/collections.ts';
import { feedRowsAfter, feedState, feedValuesAfter } from '../store/feeds.ts';
import type { FeedPosition, FeedReader, FeedRow, FeedRowKey, FeedState } from '../store/feeds.ts';
import { readableCollection } from './access.ts';
import type { Principal } from './auth.ts';

// Feeds for tools that take plain lists (docs/feeds.md): one value a line per kind, or a CSV of
// every value with its object, served under the TLP policy of TAXII reads, with an ETag a
// firewall polling every minute can ask with (a few index lookups, never a scan of the list).

/** A list (one kind) or the CSV of every kind. */
export type FeedFormat = FeedKind | 'csv';

/** How a poll asks: `schemeless` gives URLs without `http://` or `https://` (PAN-OS URL lists take none). */
export type FeedOptions = { schemeless?: boolean /** Feed rows per read of the database (FEED_BATCH). */; batch?: number };

/** Values read per query: a million-line list streams in bounded memory. */
export const FEED_BATCH = 10_000;

export const CSV_HEADER = 'value,type,indicator_id,confidence,tlp,valid_until\r\n';

/** What a poll is answered with: its validators, and the body when the client does not hold this version. */
export type FeedAnswer = {
  etag: string;
  lastModified: string | undefined;
  notModified: boolean;
  /** The body as text chunks, read from the database as they are pulled. */
  body?: () => AsyncGenerator<string>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The collection as a TAXII read of it would find it for this caller: 404 when it may not see it, 403 when it may not read it. */
async function feedReader(deps: Deps, who: Principal, collectionId: string): Promise<FeedReader> {
  const collection = UUID.test(collectionId) ? await findCollection(deps.database.read(), collectionId.toLowerCase()) : undefined;
  if (!collection) {
    if (who.kind === 'anonymous') throw new VigilError('unauthorized', 'send a Bearer token, HTTP Basic, or a feed token as ?token=');
    throw new VigilError('not-found', `no collection '${collectionId}'`);
  }
  const access = await readableCollection(deps, who, collection.api_root, collection.id);
  return { collectionId: collection.id, audience: access.audience, relaxContainers: access.collection.relax_container_refs };
}

/**
 * A strong tag of what this reader sees of this feed: the feed, the reader's audience (clearances
 * differ, so do their lists), and the state (feedState): a new, revoked, released or deleted
 * object, or an expiry passing, changes it.
 */
function etagOf(format: FeedFormat, options: FeedOptions, r: FeedReader, state: FeedState): string {
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        'feed/1',
        format,
        options.schemeless === true,
        r.collectionId,
        r.audience,
        r.relaxContainers,
        state.added,
        state.expired,
        state.generation,
      ]),
    )
    .digest('base64url');
  return `"${hash.slice(0, 32)}"`;
}

/** The latest change this reader can see, rounded up to the second (HTTP dates have no fraction). */
function lastChange(state: FeedState): number | undefined {
  const times = [state.added, state.expired, state.changed].filter((t): t is string => t !== null).map((t) => Date.parse(t));
  return times.length === 0 ? undefined : Math.floor(Math.max(...times) / 1000) * 1000 + 1000;
}

/** RFC 9110 §13.1.2: If-None-Match compares weakly; `*` matches any current representation. */
function matchesAny(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

/**
 * Not modified since `since` (If-Modified-Since, used only without If-None-Match): the latest
 * change is before it, and every change before it is visible to this read (the write horizon has
 * passed it), so no change can later appear with an earlier time.
 */
function unmodifiedSince(since: string, last: number | undefined, state: FeedState): boolean {
  const at = Date.parse(since);
  if (Number.isNaN(at) || last === undefined) return false;
  return last <= at && at <= Date.parse(state.settled);
}

/**
 * Lines per chunk of a body: a chunk stays well under V8's large-object size (see PAGE_CHUNK in
 * store/objects.ts), so a million-line list is young garbage, not growth of the heap.
 */
const LINES_PER_CHUNK = 500;

function* chunksOf<T>(items: T[], line: (item: T) => string): Generator<string> {
  for (let at = 0; at < items.length; at += LINES_PER_CHUNK)
    yield items
      .slice(at, at + LINES_PER_CHUNK)
      .map(line)
      .join('');
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvLine(r: FeedRow): string {
  const fields = [r.value, r.kind, r.id, r.confidence === null ? '' : String(r.confidence), levelName(r.tlp_level), r.valid_until ?? ''];
  return `${fields.map(csvField).join(',')}\r\n`;
}

/**
 * A poll of a feed: 404 for a collection the caller may not see, as TAXII answers; 304 (no body)
 * when the caller's If-None-Match (or If-Modified-Since) says it holds this version.
 */
export async function pollFeed(
  deps: Deps,
  who: Principal,
  collectionId: string,
  format: FeedFormat,
  conditions: { ifNoneMatch?: string | undefined; ifModifiedSince?: string | undefined },
  options: FeedOptions = {},
): Promise<FeedAnswer> {
  const reader = await feedReader(deps, who, collectionId);
  const db = deps.database.read();
  const state = await feedState(db, reader, format === 'csv' ? undefined : format);
  const etag = etagOf(format, options, reader, state);
  const last = lastChange(state);
  const lastModified = last !== undefined && last <= Date.now() ? new Date(last).toUTCString() : undefined;
  const notModified =
    conditions.ifNoneMatch !== undefined
      ? matchesAny(conditions.ifNoneMatch, etag)
      : conditions.ifModifiedSince !== undefined && unmodifiedSince(conditions.ifModifiedSince, last, state);
  if (notModified) return { etag, lastModified, notModified };
  const body =
    format === 'csv'
      ? async function* () {
          yield CSV_HEADER;
          let after: FeedRowKey | undefined;
          do {
            const read = await feedRowsAfter(db, reader, after, options.batch ?? FEED_BATCH);
            yield* chunksOf(read.rows, csvLine);
            after = read.next;
          } while (after);
        }
      : async function* () {
          let after: FeedPosition | undefined;
          let previous: string | undefined;
          do {
            const read = await feedValuesAfter(db, reader, format, after, options.batch ?? FEED_BATCH, options.schemeless);
            // A value held by several objects comes in adjacent rows, perhaps across two windows.
            const values = read.values.filter((v, i, all) => v !== (i === 0 ? previous : all[i - 1]));
            if (read.values.length > 0) previous = read.values.at(-1);
            yield* chunksOf(values, (v) => `${v}\n`);
            after = read.next;
          } while (after);
        };
  return { etag, lastModified, notModified, body };
}
