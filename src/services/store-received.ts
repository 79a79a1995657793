import type { Deps } from '../deps.ts';
import type { VerifiedPage } from '../federation/pull.ts';
import { PullError } from '../federation/pull.ts';
import { originLeaf, originSigner } from '../federation/origin-signature.ts';
import type { Intake, OriginLeaf } from '../federation/origin-signature.ts';
import type { Level } from '../policy/levels.ts';
import { validateStixObject } from '../stix/validate.ts';
import { collectionPolicy } from '../store/collections.ts';
import { differingVersions, insertObjects } from '../store/objects.ts';
import { countIngested } from '../metrics/metrics.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { advanceCursor, countStored, insertReceipt, quarantineVersions } from '../store/sources.ts';
import { refreshStatisticsIfStale } from '../store/statistics.ts';
import { asWriter } from '../store/write-horizon.ts';
import { classifyBatch, derivedOf, relayRefusal, releaseWaiting } from './ingest-policy.ts';
import type { Candidate, ReceivedOrigin } from './ingest-policy.ts';
import type { PullOutcome } from './pull-options.ts';

export type StoredPage = { received: number; stored: number; quarantined: number; refused: number };

/** A checked page from a source: its objects (with their origin when a peer sent them), the cursor to store with it, its receipt. */
export type IncomingPage = {
  objects: { object: Record<string, unknown>; json: string; received?: ReceivedOrigin }[];
  cursor: string;
  /** Who sent it (a peer's node id, a server's collection URL), its signature ('' when unsigned) and its body's digest. */
  receipt: { from: string; signature: string; digest: string };
};

/**
 * How versions from outside the federation are taken in: signed here as the node that took them
 * in (the intake claim in the batch signature), with `origin` naming the source, and classified
 * at the source's default level when unmarked.
 */
export type IntakeOptions = { origin: string; intake: Intake; defaultLevel: Level | undefined };

/** A peer's verified page as an incoming one: its objects keep the origin they came with. */
function peerPage(peer: string, page: VerifiedPage): IncomingPage {
  return {
    objects: page.objects.map((r) => ({
      object: r.object,
      json: r.json,
      received: { origin: peer, originNode: r.originNode, originSignature: r.originSignature, originVerified: r.originVerified },
    })),
    cursor: page.last!,
    receipt: { from: peer, signature: page.signature, digest: page.digest },
  };
}

/** Signs the candidates as taken in here, one batch signature carrying the intake claim; drops those that cannot be. */
function signIntake(deps: Deps, candidates: Candidate[], refusedIds: string[], intake: IntakeOptions): Candidate[] {
  const signable: { c: Candidate; leaf: OriginLeaf }[] = [];
  for (const c of candidates) {
    try {
      signable.push({ c, leaf: originLeaf(c.object) });
    } catch (err) {
      refusedIds.push(`${c.meta.id}: ${(err as Error).message}`);
    }
  }
  const signer = originSigner(deps.keyring);
  const signatures = signer.signLeaves(
    signable.map((s) => s.leaf),
    { intake: intake.intake },
  );
  return signable.map(({ c }, i) => ({
    ...c,
    received: { origin: intake.origin, originNode: signer.nodeId, originSignature: signatures[i]!, originVerified: true },
  }));
}

/** A page's objects validated as local ingest validates them (and, from outside the federation, signed here), ready to store. */
export type ValidatedPage = { page: IncomingPage; candidates: Candidate[]; refusedIds: string[] };

/**
 * The work on a page that needs no database: a pull does it for the next page while the page
 * before is stored, so that a catch-up's transactions follow each other with no gap between.
 */
function validatePage(deps: Deps, page: IncomingPage, intake?: IntakeOptions): ValidatedPage {
  const refusedIds: string[] = [];
  let candidates: Candidate[] = [];
  page.objects.forEach((r, seq) => {
    const v = validateStixObject(r.object);
    if (!v.ok) refusedIds.push(`${v.id ?? '(no id)'}: ${v.message}`);
    else {
      // References and feed values too: this runs while the page before is stored, not in the writer's transaction.
      const derived = derivedOf(v.meta, r.object);
      candidates.push({ seq, object: r.object, meta: v.meta, json: r.json, derived, ...(r.received ? { received: r.received } : {}) });
    }
  });
  if (intake) candidates = signIntake(deps, candidates, refusedIds, intake);
  return { page, candidates, refusedIds };
}

/**
 * Stores a checked page in ONE transaction: the objects, through the same validation and TLP
 * classification as local ingest (a peer's with their origin as received, a server's signed here
 * at intake), the versions to quarantine, the receipt, and the cursor, moved only if this puller
 * still holds the lease. All or nothing. `validated` is validatePage's answer for the page, when
 * the caller made it ahead.
 */
export async function storeIncomingPage(
  deps: Deps,
  sub: ClaimedSource,
  page: IncomingPage,
  from: string | null,
  intake?: IntakeOptions,
  validated: ValidatedPage = validatePage(deps, page, intake),
): Promise<StoredPage> {
  const sender = page.receipt.from;
  const { candidates } = validated;
  const refusedIds = [...validated.refusedIds];
  const result = await asWriter(deps.database.db, sub.collection_id, deps.config.workLeaseSeconds, async (tx) => {
    // First: it locks the source row, and a lost lease stores nothing.
    if (!(await advanceCursor(tx, sub.id, sub.lease_owner, from, page.cursor))) {
      throw new PullError('lease-lost', 'another puller took this source over, or its cursor moved');
    }
    const policy = await collectionPolicy(tx, sub.collection_id);
    // A source's default level stands in for the collection's, for this page's unmarked objects only.
    const pagePolicy = intake?.defaultLevel !== undefined ? { ...policy, defaultLevel: intake.defaultLevel } : policy;
    const {
      accepted: classified,
      rejected,
      shipped,
    } = await classifyBatch(tx, sub.collection_id, pagePolicy, candidates, originSigner(deps.keyring));
    for (const r of rejected) refusedIds.push(`${r.id}: ${r.message}`);
    // AMBER+STRICT and RED never leave their node: a peer that sends one breaks the rules.
    const accepted = classified.filter((o) => {
      const refused = o.markingRefs.length > 0 ? relayRefusal(o.origin, o.level) : null;
      if (refused) refusedIds.push(`${o.id}: ${refused}`);
      return !refused;
    });
    const batch = [...shipped, ...accepted];
    const outcomes = await insertObjects(tx, sub.collection_id, batch);
    // A page may bring the definitions that objects of earlier pages (or requests) wait for.
    await releaseWaiting(tx, sub.collection_id, policy, accepted);
    const held = accepted.filter((_, i) => !outcomes[shipped.length + i]!.inserted);
    const levels = batch.filter((_, i) => outcomes[i]!.inserted).map((o) => o.level);
    const differing = (await differingVersions(tx, sub.collection_id, held)).map((i) => held[i]!);
    await quarantineVersions(tx, { sourceId: sub.id, collectionId: sub.collection_id, peer: sender }, differing);
    await insertReceipt(tx, {
      sourceId: sub.id,
      peer: sender,
      signature: page.receipt.signature,
      digest: page.receipt.digest,
      count: page.objects.length,
    });
    const stored = accepted.length - held.length;
    await countStored(tx, sub.id, stored);
    return { stored, quarantined: differing.length, levels };
  });
  countIngested(deps.metrics, sub.collection_id, result.levels);
  if (result.levels.length > 0) deps.alerts.kick();
  if (refusedIds.length) deps.log.warn({ source: sub.id, from: sender, refused: refusedIds.slice(0, 20) }, 'pulled objects were refused');
  return { received: page.objects.length, stored: result.stored, quarantined: result.quarantined, refused: refusedIds.length };
}

/** A peer's verified page, validated: its objects keep the origin they came with. */
export function validateReceivedPage(deps: Deps, peer: string, page: VerifiedPage): ValidatedPage {
  return validatePage(deps, peerPage(peer, page));
}

/** A peer's page, validated (validateReceivedPage), stored with the origin each object came with. */
export function storeReceivedPage(deps: Deps, sub: ClaimedSource, validated: ValidatedPage, from: string | null): Promise<StoredPage> {
  return storeIncomingPage(deps, sub, validated.page, from, undefined, validated);
}

/** The statistics refresh in flight, per database: one at a time. */
const refreshing = new WeakSet<object>();

/**
 * A backlog outgrows the planner's statistics as it lands (store/statistics.ts). The ANALYZE
 * (a few hundred milliseconds) runs beside the next page's store, on a connection of its own,
 * rather than between two pages of a catch-up.
 */
function refreshStatistics(deps: Deps): void {
  const db = deps.database.db;
  if (refreshing.has(db)) return;
  refreshing.add(db);
  refreshStatisticsIfStale(db)
    .catch((err: unknown) => deps.log.warn({ err }, 'ANALYZE after a received page failed'))
    .finally(() => refreshing.delete(db));
}

/** Counts a stored page into the run's outcome, and what follows from it. */
export async function afterStored(deps: Deps, sub: ClaimedSource, stored: StoredPage, outcome: PullOutcome): Promise<void> {
  outcome.pages++;
  outcome.stored += stored.stored;
  outcome.quarantined += stored.quarantined;
  if (stored.stored > 0) refreshStatistics(deps);
  if (stored.quarantined)
    deps.log.warn(
      { source: sub.id, from: sub.peer_node_id ?? sub.url, count: stored.quarantined },
      'received versions quarantined: held here with other content',
    );
}
