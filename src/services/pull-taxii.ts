import { PullError } from '../federation/pull.ts';
import { fetchTaxiiPage, justBefore, timestampNs } from '../federation/taxii-source.ts';
import type { TaxiiAuth, TaxiiPage, TaxiiTarget } from '../federation/taxii-source.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { keepLease, storeIntakePage } from './intake-page.ts';
import type { PullPages } from './intake-page.ts';

// A TAXII 2.1 server's collection, pulled as any TAXII client reads it. TAXII 2.1 §3.4.2:
// added_after is exclusive, and a page ends with X-TAXII-Date-Added-Last. Real servers keep
// date_added to the millisecond, so several objects may share the last one of a page: resuming
// after it exactly would skip those the page did not hold. So the cursor stored with a page the
// server has more after is one millisecond before its last date_added; the objects asked for
// again are the same versions, and storing a version held already changes nothing.

function authOf(sub: ClaimedSource): TaxiiAuth {
  const secret = sub.auth_secret ?? '';
  switch (sub.auth_kind) {
    case 'basic':
      return { kind: 'basic', username: sub.auth_name ?? '', password: secret };
    case 'bearer':
      return { kind: 'bearer', token: secret };
    case 'header':
      return { kind: 'header', name: sub.auth_name ?? '', value: secret };
    default:
      return { kind: 'none' };
  }
}

export function taxiiTarget(sub: ClaimedSource): TaxiiTarget {
  if (!sub.url) throw new PullError('not-configured', 'the source has no URL');
  return { apiRoot: sub.url.endsWith('/') ? sub.url : `${sub.url}/`, collectionId: sub.remote_collection_id, auth: authOf(sub) };
}

/** The later of two timestamps (a cursor never moves back). */
function later(a: string | null, b: string): string {
  return a === null || timestampNs(b)! > timestampNs(a)! ? b : a;
}

/**
 * A TAXII server's pages, while it says there is more: through its `next` tokens (same
 * added_after) when it gives them, else by date. A page full of objects added within the same
 * millisecond, from a server without `next`, can never be got past: that stops the run with a
 * recorded error rather than asking the same page forever.
 */
export const pullTaxiiPages: PullPages = async (deps, clients, sub, opts, outcome) => {
  const target = taxiiTarget(sub);
  const collectionUrl = new URL(`collections/${encodeURIComponent(target.collectionId)}/`, target.apiRoot).href;
  let cursor = sub.cursor;
  // What the next request asks: the same added_after with the server's `next`, or a later added_after.
  let ask: { addedAfter: string | null; next?: string | undefined } = { addedAfter: cursor };
  // As for peers, the next page is fetched while this one is stored; dropped if the store fails.
  let ahead: Promise<TaxiiPage> | undefined;
  const fetchPage = (q: typeof ask) => {
    const p = fetchTaxiiPage(clients, target, { ...q, limit: opts.pageLimit }, opts.limits);
    p.catch(() => {}); // awaited below, or dropped
    return p;
  };
  for (let n = 0; n < opts.maxPages; n++) {
    const page = await (ahead ?? fetchPage(ask));
    ahead = undefined;
    if (page.more && !page.next && page.objects.length === 0)
      throw new PullError('no-progress', 'the server says there is more, but sends neither objects nor `next`');
    let then: typeof ask | undefined;
    if (page.more) {
      then = page.next ? { addedAfter: ask.addedAfter, next: page.next } : { addedAfter: later(ask.addedAfter, justBefore(page.last!)) };
      // Asking again from where this page was asked would bring this page again, forever.
      const stuck = !page.next && ask.addedAfter !== null && timestampNs(then.addedAfter!)! <= timestampNs(ask.addedAfter)!;
      if (stuck) then = undefined;
      else if (n + 1 < opts.maxPages) ahead = fetchPage(then);
    }
    if (page.objects.length > 0) {
      const to = later(cursor, page.more ? justBefore(page.last!) : page.last!);
      await storeIntakePage(deps, sub, { kind: 'taxii', url: collectionUrl, cursor }, page, to, outcome);
      cursor = to;
    }
    if (!page.more) break;
    if (!then)
      throw new PullError(
        'no-progress',
        `the server has more objects added at ${page.last} (or within a millisecond before) than one page holds, and gives no \`next\`: ` +
          'paging by X-TAXII-Date-Added-Last cannot get past them',
      );
    ask = then;
    outcome.more = n + 1 === opts.maxPages;
    await keepLease(deps, sub);
  }
};
