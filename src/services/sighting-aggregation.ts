import { randomUUID } from 'node:crypto';
import type { Deps, SightingAggregator, Started } from '../deps.ts';
import { originSigner } from '../federation/origin-signature.ts';
import { planPublication } from '../policy/sighting-privacy.ts';
import { TLP2_MARKING_OF_LEVEL } from '../policy/tlp-ids.ts';
import { aggregateId, aggregateSighting, sectorIdentity } from '../stix/sighting-aggregate.ts';
import type { Bucket } from '../stix/sighting-aggregate.ts';
import {
  claimFamilies,
  holdingCollections,
  lockHeldIndicators,
  markPublished,
  pendingReports,
  recordAggregates,
  releaseFamilies,
  settleFamilies,
} from '../store/sighting-work.ts';
import type { AggregateKey, Family, FamilyReport } from '../store/sighting-work.ts';
import { asWriter } from '../store/write-horizon.ts';
import { storeOwnObjects } from './ingest.ts';
import { passLoop } from './pass-loop.ts';

// The aggregation job (docs/sightings.md, "When"): a family (an indicator's reports of one UTC day)
// is due after a report or at the end of an hour whose reports wait. Families are claimed a batch
// at a time by a lease (WORK_LEASE_SECONDS, the batch's writer lease too), so replicas share them
// and a replica that dies leaves them to the next once it ends; reports are not held up meanwhile.
// Two runs of one family (a lease that ran out) are serialised by the locks on its waiting reports.

/** Families a transaction takes at most: one commit, and a statement a step, for all of them. */
const BATCH = 50;

/**
 * How long a report's kick waits before the run: reports arriving meanwhile share it. A run costs
 * the same dozen statements and a new version of each of its days' aggregates whether it takes one
 * report or fifty: at 100 reports a second, one a request, a run for each cost PostgreSQL 7.6 ms of
 * CPU a request. A quarter of a second is little beside early warning's 2 s.
 */
export const KICK_DELAY_MS = 250;

const familyKey = (f: Family) => `${f.indicator_id} ${f.day_start}`;

/**
 * Publishes what the privacy rule lets out of each family the claim holds: new versions of its
 * hours and its day, as STIX sightings stored in every collection holding the indicator. Returns
 * how many families stay due for a report that came in meanwhile.
 */
async function aggregateBatch(
  deps: Deps,
  claim: string,
  claimed: readonly Family[],
  where: { country: string; sector: string },
): Promise<number> {
  const db = deps.database.db;
  const indicators = [...new Set(claimed.map((f) => f.indicator_id))];
  // The collections to write to, before the transaction: it announces itself a writer of each.
  const before = await holdingCollections(db, indicators);
  const ids = [...new Set(before.map((h) => h.collection_id))].sort();
  const identity = sectorIdentity(where, TLP2_MARKING_OF_LEVEL[0]!);
  const done = await asWriter(db, ids, deps.config.workLeaseSeconds, async (tx) => {
    // Read again under the locks a delete takes, so an indicator deleted meanwhile gets no aggregate
    // where it is gone (one held by a collection since is left for its next report).
    await lockHeldIndicators(tx, before);
    const locked = new Set(ids);
    const holding = new Map<string, { collection_id: string; level: number }[]>();
    for (const h of await holdingCollections(tx, indicators))
      if (locked.has(h.collection_id)) holding.set(h.indicator_id, [...(holding.get(h.indicator_id) ?? []), h]);
    // An indicator no collection holds now: its reports wait, and a later report makes the family due again.
    const held = claimed.filter((f) => holding.has(f.indicator_id));
    const waiting = new Map<string, FamilyReport[]>();
    for (const r of await pendingReports(tx, held)) waiting.set(familyKey(r), [...(waiting.get(familyKey(r)) ?? []), r]);
    const marks: { seq: string; into: 'hour' | 'day' }[] = [];
    const keys: (AggregateKey & { bucket: Bucket })[] = [];
    const settled = claimed.filter((f) => !holding.has(f.indicator_id)).map((f) => ({ ...f, due: null as string | null }));
    for (const f of held) {
      const plan = planPublication(waiting.get(familyKey(f)) ?? [], deps.config.sightings.minOrganisations);
      marks.push(
        ...plan.intoHours.map((seq) => ({ seq, into: 'hour' as const })),
        ...plan.intoDay.map((seq) => ({ seq, into: 'day' as const })),
      );
      const buckets: Bucket[] = plan.hours.map((start) => ({ size: 'hour', start }));
      if (plan.intoHours.length + plan.intoDay.length > 0) buckets.push({ size: 'day', start: f.day_start });
      for (const bucket of buckets)
        keys.push({
          ...f,
          bucket,
          bucket_size: bucket.size,
          bucket_start: bucket.start,
          stix_id: aggregateId(deps.keyring.nodeId, f.indicator_id, bucket),
        });
      settled.push({ ...f, due: plan.again });
    }
    await markPublished(tx, marks);
    const recorded = await recordAggregates(
      tx,
      keys,
      marks.map((m) => m.seq),
    );
    const rows = new Map(recorded.map((r) => [r.stix_id, r]));
    // Per collection, the aggregates of the indicators it holds, each at its indicator's strictest
    // level wherever it is held, so every copy of a version is the same object.
    const objects = new Map<string, Record<string, unknown>[]>();
    for (const k of keys) {
      const holders = holding.get(k.indicator_id)!;
      const row = rows.get(k.stix_id)!;
      const object = aggregateSighting({
        id: k.stix_id,
        indicatorId: k.indicator_id,
        identityId: identity.id as string,
        bucket: k.bucket,
        created: row.created,
        modified: row.modified,
        count: row.count,
        organisations: row.organisations,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        marking: TLP2_MARKING_OF_LEVEL[Math.max(...holders.map((h) => h.level))]!,
      });
      for (const h of holders) objects.set(h.collection_id, [...(objects.get(h.collection_id) ?? []), object]);
    }
    const signer = originSigner(deps.keyring);
    for (const collectionId of ids) {
      const own = objects.get(collectionId);
      if (!own) continue;
      const failed = (await storeOwnObjects(tx, signer, collectionId, [identity, ...own])).filter((d) => d.outcome === 'failure');
      // Objects this node builds itself always validate: a failure is a bug, and nothing of the run may commit.
      if (failed.length > 0) throw new Error(`sighting aggregates refused: ${failed.map((d) => d.message).join('; ')}`);
    }
    const touched = await settleFamilies(tx, claim, settled);
    return { touched, published: keys.length };
  });
  if (done.published > 0) deps.alerts.kick();
  return done.touched;
}

/**
 * One pass: every due family, batch by batch; stops when none is left to claim (none due, or every
 * due one claimed elsewhere), after a short batch none of whose families a report touched meanwhile.
 */
async function pass(deps: Deps, where: { country: string; sector: string }): Promise<void> {
  const db = deps.database.db;
  for (;;) {
    const claim = randomUUID();
    const claimed = await claimFamilies(db, claim, BATCH, deps.config.workLeaseSeconds);
    if (claimed.length === 0) return;
    const touched = await aggregateBatch(deps, claim, claimed, where).catch(async (err: unknown) => {
      await releaseFamilies(db, claim).catch(() => {});
      throw err;
    });
    if (claimed.length < BATCH && touched === 0) return;
  }
}

/**
 * Runs the aggregation: after each kick (a report committed here) and on a timer (reports waiting
 * for their hour to end, another replica's reports). Off without NODE_COUNTRY: reports are kept,
 * and published once it is set.
 */
export function createSightingAggregator(): Started<SightingAggregator> {
  let deps: Deps | undefined;
  let timer: NodeJS.Timeout | undefined;
  let kicked: NodeJS.Timeout | undefined;

  const loop = passLoop(() => {
    const d = deps;
    const country = d?.config.sightings.country;
    if (!d || !country) return undefined;
    const where = { country, sector: d.config.sightings.sector };
    return {
      pass: () => pass(d, where),
      failed: (err) => d.log.error({ err }, 'sighting aggregation failed; the family stays due and is tried again'),
    };
  });
  const run = loop.run;

  return {
    kick() {
      if (!deps || deps.config.sightings.tickMs === 0 || kicked) return;
      kicked = setTimeout(() => {
        kicked = undefined;
        void run();
      }, KICK_DELAY_MS);
      kicked.unref();
    },
    drain: loop.drain,
    start(d) {
      deps = d;
      if (d.config.sightings.tickMs === 0) return;
      timer = setInterval(() => void run(), d.config.sightings.tickMs);
      timer.unref();
      void run();
    },
    async stop() {
      if (timer) clearInterval(timer);
      if (kicked) clearTimeout(kicked);
      kicked = undefined;
      deps = undefined;
      await loop.idle();
    },
  };
}
