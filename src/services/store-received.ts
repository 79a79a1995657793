import type { Deps } from '../deps.ts';
import type { VerifiedPage } from '../federation/pull.ts';
import { PullError } from '../federation/pull.ts';
import { originSigner } from '../federation/origin-signature.ts';
import { validateStixObject } from '../stix/validate.ts';
import { collectionPolicy } from '../store/collections.ts';
import { differingVersions, insertObjects } from '../store/objects.ts';
import { countIngested } from '../metrics/metrics.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { advanceCursor, insertReceipt, quarantineVersions } from '../store/sources.ts';
import { asWriter } from '../store/write-horizon.ts';
import { classifyBatch, relayRefusal, releaseWaiting } from './ingest-policy.ts';
import type { Candidate } from './ingest-policy.ts';

export type StoredPage = { received: number; stored: number; quarantined: number; refused: number };

/**
 * Stores a verified page in ONE transaction: the objects, through the same validation and TLP
 * classification as local ingest (their origin as received), the versions to quarantine, the
 * receipt, and the cursor, moved only if this puller still holds the lease. All or nothing.
 */
export async function storeReceivedPage(deps: Deps, sub: ClaimedSource, page: VerifiedPage, from: string | null): Promise<StoredPage> {
  const peer = sub.peer_node_id!;
  const refusedIds: string[] = [];
  const candidates: Candidate[] = [];
  page.objects.forEach((r, seq) => {
    const v = validateStixObject(r.object);
    if (!v.ok) refusedIds.push(`${v.id ?? '(no id)'}: ${v.message}`);
    else
      candidates.push({
        seq,
        object: r.object,
        meta: v.meta,
        json: r.json,
        received: { origin: peer, originNode: r.originNode, originSignature: r.originSignature, originVerified: r.originVerified },
      });
  });
  const result = await asWriter(deps.database.db, sub.collection_id, deps.config.workLeaseSeconds, async (tx) => {
    // First: it locks the source row, and a lost lease stores nothing.
    if (!(await advanceCursor(tx, sub.id, sub.lease_owner, from, page.last!))) {
      throw new PullError('lease-lost', 'another puller took this source over, or its cursor moved');
    }
    const policy = await collectionPolicy(tx, sub.collection_id);
    const {
      accepted: classified,
      rejected,
      shipped,
    } = await classifyBatch(tx, sub.collection_id, policy, candidates, originSigner(deps.keyring));
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
    await quarantineVersions(tx, { sourceId: sub.id, collectionId: sub.collection_id, peer }, differing);
    await insertReceipt(tx, { sourceId: sub.id, peer, signature: page.signature, digest: page.digest, count: page.objects.length });
    return { stored: accepted.length - held.length, quarantined: differing.length, levels };
  });
  countIngested(deps.metrics, sub.collection_id, result.levels);
  if (result.levels.length > 0) deps.alerts.kick();
  if (refusedIds.length)
    deps.log.warn({ source: sub.id, peer, refused: refusedIds.slice(0, 20) }, 'objects pulled from a peer were refused');
  return { received: page.objects.length, stored: result.stored, quarantined: result.quarantined, refused: refusedIds.length };
}
