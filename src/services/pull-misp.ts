import { fetchMispPage, restSearchUrl } from '../federation/misp-source.ts';
import type { MispPage, MispTarget } from '../federation/misp-source.ts';
import { PullError } from '../federation/pull.ts';
import { markMispTlp } from '../policy/misp-tlp.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { keepLease, moveCursor, storeIntakePage } from './intake-page.ts';
import type { PullPages } from './intake-page.ts';
import type { IntakePage } from './intake-page.ts';

// A MISP's events, pulled through restSearch by MISP's event timestamp (seconds, inclusive),
// page after page (`limit` events, `page` from 1) until a page holds no event. The cursor says
// where the run stands: `timestamp=<since>` between runs, `&page=<next>&latest=<seen>` within
// one, so a run cut short (a restart, a lost lease, maxPages) resumes at the page after the last
// stored one. Once a page holds no event the cursor becomes the latest event timestamp seen.

/** Events a page: MISP converts each to STIX on the fly, so pages stay small. */
export const MISP_EVENTS_PER_PAGE = 20;
/**
 * Each run asks from this long before the cursor: an event changed during a run, on a page read
 * already, keeps a timestamp earlier than events read after it, and is asked for again next run.
 */
export const MISP_OVERLAP_SECONDS = 600;
/** An event timestamp further ahead of this node's clock moves the cursor no further than this. */
const FUTURE_SLACK_SECONDS = 86_400;

export type MispCursor = { since: number | null; page: number; latest: number | null };

const SECONDS = /^\d{1,12}$/;

export function parseMispCursor(text: string | null): MispCursor {
  const q = new URLSearchParams(text ?? '');
  const num = (k: string) => {
    const v = q.get(k);
    return v !== null && SECONDS.test(v) ? Number(v) : null;
  };
  return { since: num('timestamp'), page: Math.max(1, num('page') ?? 1), latest: num('latest') };
}

export function formatMispCursor(c: MispCursor): string | null {
  const q = new URLSearchParams();
  if (c.since !== null) q.set('timestamp', String(c.since));
  if (c.page > 1) q.set('page', String(c.page));
  if (c.latest !== null) q.set('latest', String(c.latest));
  return q.size > 0 ? q.toString() : null;
}

const later = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** The latest event timestamp of a page, in seconds, never far ahead of this node's clock. */
function latestEvent(page: MispPage): number | null {
  const cap = Math.floor(Date.now() / 1000) + FUTURE_SLACK_SECONDS;
  const seconds = page.events.map((e) => Math.floor(Date.parse(e.modified) / 1000)).filter(Number.isFinite);
  return seconds.length > 0 ? Math.min(Math.max(...seconds), cap) : null;
}

/** The page's objects with MISP's TLP made markings, each version once (an event's organisation comes with each). */
function takeIn(page: MispPage): IntakePage {
  const seen = new Set<string>();
  const objects: IntakePage['objects'] = [];
  for (const object of markMispTlp(page.objects.map((o) => o.object))) {
    const key = `${String(object.id)}\u0000${String(object.modified ?? object.created ?? '')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    objects.push({ object, json: JSON.stringify(object) });
  }
  return { objects, digest: page.digest };
}

export function mispTarget(sub: ClaimedSource): MispTarget {
  if (!sub.url || !sub.auth_secret) throw new PullError('not-configured', 'the source has no URL or no key');
  const tags = sub.filter?.tags ?? [];
  return {
    baseUrl: sub.url.endsWith('/') ? sub.url : `${sub.url}/`,
    key: sub.auth_secret,
    tags,
    published: sub.filter?.published === true,
  };
}

export const pullMispPages: PullPages = async (deps, clients, sub, opts, outcome) => {
  const target = mispTarget(sub);
  const url = restSearchUrl(target.baseUrl);
  let cursor = sub.cursor;
  let at = parseMispCursor(cursor);
  const since = at.since === null ? null : Math.max(0, at.since - MISP_OVERLAP_SECONDS);
  const limit = Math.min(opts.pageLimit, MISP_EVENTS_PER_PAGE);
  // As for the other kinds, the next page is fetched while this one is stored; dropped if the store fails.
  let ahead: Promise<MispPage> | undefined;
  const fetchPage = (page: number) => {
    const p = fetchMispPage(clients, target, { since, page, limit }, opts.limits);
    p.catch(() => {}); // awaited below, or dropped
    return p;
  };
  for (let n = 0; n < opts.maxPages; n++) {
    const page = await (ahead ?? fetchPage(at.page));
    ahead = undefined;
    if (page.events.length === 0) {
      const to = formatMispCursor({ since: later(at.since, at.latest), page: 1, latest: null });
      if (to !== null && to !== cursor) await moveCursor(deps, sub, cursor, to);
      return;
    }
    if (n + 1 < opts.maxPages) ahead = fetchPage(at.page + 1);
    const next = { since: at.since, page: at.page + 1, latest: later(at.latest, latestEvent(page)) };
    const to = formatMispCursor(next)!;
    await storeIntakePage(deps, sub, { kind: 'misp', url, cursor }, takeIn(page), to, outcome);
    cursor = to;
    at = next;
    outcome.more = n + 1 === opts.maxPages;
    await keepLease(deps, sub);
  }
};
