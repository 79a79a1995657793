import type { JWK } from 'jose';
import type { Deps } from '../deps.ts';
import { fetchPage, PullError } from '../federation/pull.ts';
import type { PullTarget, VerifiedPage } from '../federation/pull.ts';
import type { PeerClients } from '../federation/peer-client.ts';
import { DEFAULT_PULL } from './pull-options.ts';
import type { PullOptions, PullOutcome } from './pull-options.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { finishFailure, finishSuccess } from '../store/sources.ts';
import { backoffSeconds } from './backoff.ts';
import { afterStored, storeReceivedPage, validateReceivedPage } from './store-received.ts';
import type { ValidatedPage } from './store-received.ts';
import { keepLease } from './intake-page.ts';
import { pullMispPages } from './pull-misp.ts';
import { pullTaxiiPages } from './pull-taxii.ts';

export { DEFAULT_PULL } from './pull-options.ts';
export type { PullOptions, PullOutcome } from './pull-options.ts';

function targetOf(sub: ClaimedSource): PullTarget {
  const keys = Array.isArray(sub.pinned_keys) ? (sub.pinned_keys as JWK[]) : [];
  if (!sub.peer_node_id || !sub.base_url || keys.length === 0) {
    throw new PullError('not-configured', 'the peer has no node id, base URL or pinned keys (vigil client peer)');
  }
  return {
    peerNodeId: sub.peer_node_id,
    baseUrl: sub.base_url,
    pinnedKeys: keys,
    apiRoot: sub.remote_api_root ?? 'default',
    collectionId: sub.remote_collection_id,
  };
}

/** A peer's pages, over signed requests, while the peer says there is more. */
async function pullPeerPages(deps: Deps, clients: PeerClients, sub: ClaimedSource, opts: PullOptions, outcome: PullOutcome) {
  let cursor = sub.cursor;
  const target = targetOf(sub);
  const ctx = { clients, keyring: deps.keyring, trustList: deps.trustList, ...(opts.limits ? { limits: opts.limits } : {}) };
  // The next page is fetched, its signatures checked (on the thread pool) and its objects
  // validated while this one is stored: a catch-up waits on the peer and on the database at the
  // same time, not one after the other. A page fetched ahead is only stored after the one before
  // it, dropped if that fails.
  type Ahead = { verified: VerifiedPage; validated: ValidatedPage };
  let ahead: Promise<Ahead> | undefined;
  const fetchAfter = (from: string | null) => {
    const p = fetchPage(ctx, target, from, opts.pageLimit).then((verified) => ({
      verified,
      validated: validateReceivedPage(deps, target.peerNodeId, verified),
    }));
    p.catch(() => {}); // awaited below, or dropped when a store fails
    return p;
  };
  for (let n = 0; n < opts.maxPages; n++) {
    const { verified: page, validated } = await (ahead ?? fetchAfter(cursor));
    ahead = undefined;
    if (page.objects.length === 0) break;
    if (page.more && n + 1 < opts.maxPages) ahead = fetchAfter(page.last!);
    const stored = await storeReceivedPage(deps, sub, validated, cursor);
    cursor = page.last!;
    await afterStored(deps, sub, stored, outcome);
    if (!page.more) break;
    outcome.more = n + 1 === opts.maxPages;
    await keepLease(deps, sub);
  }
}

/**
 * Pulls a claimed source page after page (at most `maxPages`) while the peer or server says
 * there is more. No transaction is open during HTTP: each checked page is stored, with the
 * cursor, in a transaction of its own. Any failure ends the run with a backoff; pages already
 * stored stay.
 */
export async function pullSource(
  deps: Deps,
  clients: PeerClients,
  sub: ClaimedSource,
  opts: PullOptions = DEFAULT_PULL,
): Promise<PullOutcome> {
  const db = deps.database.db;
  const outcome: PullOutcome = { ok: true, pages: 0, stored: 0, quarantined: 0, more: false };
  try {
    if (sub.kind === 'taxii') await pullTaxiiPages(deps, clients, sub, opts, outcome);
    else if (sub.kind === 'misp') await pullMispPages(deps, clients, sub, opts, outcome);
    else await pullPeerPages(deps, clients, sub, opts, outcome);
    await finishSuccess(db, sub.id, sub.lease_owner, outcome.stored);
  } catch (err) {
    const code = err instanceof PullError ? err.code : 'internal';
    const message = `${code}: ${(err as Error).message}`;
    outcome.ok = false;
    outcome.more = false;
    outcome.error = { code, message };
    deps.log.warn({ source: sub.id, from: sub.peer_node_id ?? sub.url, err: message }, 'pull failed; backing off');
    deps.metrics.errors.inc({ kind: 'pull' });
    // A peer that says when to come back (429, 503 with Retry-After) is not asked sooner.
    const asked = err instanceof PullError ? (err.retryAfterSeconds ?? 0) : 0;
    const delay = Math.max(backoffSeconds(sub.consecutive_failures), asked);
    await finishFailure(db, sub.id, sub.lease_owner, message, delay, outcome.stored);
  }
  return outcome;
}
