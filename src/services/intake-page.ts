import type { Deps } from '../deps.ts';
import type { Intake } from '../federation/origin-signature.ts';
import type { PeerClients } from '../federation/peer-client.ts';
import { PullError } from '../federation/pull.ts';
import type { Level } from '../policy/levels.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { advanceCursor, extendSourceLease } from '../store/sources.ts';
import { intakeOrigin } from './ingest-policy.ts';
import type { PullOptions, PullOutcome } from './pull-options.ts';
import { afterStored, storeIncomingPage } from './store-received.ts';

// What the pulls from servers outside the federation (TAXII servers, MISP instances) share: a page
// is signed here as taken in from `url`, its unmarked objects take the source's default level, and
// it is stored with the cursor under the source's lease.

/** A run over a claimed source of a server's kind: its pages, each stored with the cursor, counted into `outcome`. */
export type PullPages = (deps: Deps, clients: PeerClients, sub: ClaimedSource, opts: PullOptions, outcome: PullOutcome) => Promise<void>;

export type IntakePage = { objects: { object: Record<string, unknown>; json: string }[]; digest: string };

/** Stores a checked page from `url` with the cursor `to` (moved from `from`), and counts it into the run. */
export async function storeIntakePage(
  deps: Deps,
  sub: ClaimedSource,
  from: { kind: Intake['kind']; url: string; cursor: string | null },
  page: IntakePage,
  to: string,
  outcome: PullOutcome,
): Promise<void> {
  const defaultLevel = sub.default_tlp === null ? undefined : (sub.default_tlp as Level);
  const intake = { kind: from.kind, url: from.url, at: new Date().toISOString() };
  const stored = await storeIncomingPage(
    deps,
    sub,
    { objects: page.objects, cursor: to, receipt: { from: from.url, signature: '', digest: page.digest } },
    from.cursor,
    { origin: intakeOrigin(sub.id), intake, defaultLevel },
  );
  await afterStored(deps, sub, stored, outcome);
}

/** Moves the cursor without a page (a run that ends having read everything), under the lease. */
export async function moveCursor(deps: Deps, sub: ClaimedSource, from: string | null, to: string): Promise<void> {
  const moved = await deps.database.db.transaction().execute((tx) => advanceCursor(tx, sub.id, sub.lease_owner, from, to));
  if (!moved) throw new PullError('lease-lost', 'another puller took this source over, or its cursor moved');
}

/** Between pages: the run goes on only while this puller still holds the source. */
export async function keepLease(deps: Deps, sub: ClaimedSource): Promise<void> {
  if (!(await extendSourceLease(deps.database.db, sub.id, sub.lease_owner, deps.config.workLeaseSeconds)))
    throw new PullError('lease-lost', 'the lease was lost');
}
