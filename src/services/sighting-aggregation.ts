import type { Deps, SightingAggregator, Started } from '../deps.ts';
import { originSigner } from '../federation/origin-signature.ts';
import { planPublication } from '../policy/sighting-privacy.ts';
import { TLP2_MARKING_OF_LEVEL } from '../policy/tlp-ids.ts';
import { aggregateId, aggregateSighting, sectorIdentity } from '../stix/sighting-aggregate.ts';
import type { Bucket } from '../stix/sighting-aggregate.ts';
import {
  bucketFigures,
  claimFamily,
  dueFamilies,
  holdingCollections,
  markPublished,
  pendingReports,
  recordAggregate,
  settleFamily,
} from '../store/sightings.ts';
import type { Family } from '../store/sightings.ts';
import { asWriter } from '../store/write-horizon.ts';
import { storeOwnObjects } from './ingest.ts';
import { passLoop } from './pass-loop.ts';

// The aggregation job (docs/sightings.md, "When"): a family (an indicator's reports of one UTC day)
// is due after a report or at the end of an hour whose reports wait. Each is taken in a
// transaction that holds its work row (FOR UPDATE SKIP LOCKED): replicas share families, never
// run one twice at once, and a replica that dies mid-way leaves the row to the next.

/** Families a pass peeks at a time. */
const BATCH = 50;

/**
 * Publishes what the privacy rule lets out of one family: new versions of its hours and its day,
 * as STIX sightings stored in every collection holding the indicator. False when another replica
 * holds it or it was no longer due.
 */
async function aggregateFamily(deps: Deps, f: Family, where: { country: string; sector: string }): Promise<boolean> {
  const db = deps.database.db;
  const holding = await holdingCollections(db, f.indicator_id);
  // An indicator no collection holds now: its reports wait, and a later report makes the family due again.
  if (holding.length === 0)
    return db.transaction().execute(async (tx) => {
      if (!(await claimFamily(tx, f))) return false;
      await settleFamily(tx, f, null);
      return true;
    });
  // The indicator's strictest level wherever it is held, so every copy of a version is the same object.
  const marking = TLP2_MARKING_OF_LEVEL[Math.max(...holding.map((h) => h.level))]!;
  const identity = sectorIdentity(where, TLP2_MARKING_OF_LEVEL[0]!);
  const ids = holding.map((h) => h.collection_id);
  const published = await asWriter(db, ids, deps.config.workLeaseSeconds, async (tx) => {
    if (!(await claimFamily(tx, f))) return undefined;
    const plan = planPublication(await pendingReports(tx, f), deps.config.sightings.minOrganisations);
    await markPublished(tx, plan.intoHours, 'hour');
    await markPublished(tx, plan.intoDay, 'day');
    const buckets: Bucket[] = plan.hours.map((start) => ({ size: 'hour', start }));
    if (plan.intoHours.length + plan.intoDay.length > 0) buckets.push({ size: 'day', start: f.day_start });
    const objects: Record<string, unknown>[] = [];
    for (const bucket of buckets) {
      const key = { indicator_id: f.indicator_id, bucket_size: bucket.size, bucket_start: bucket.start };
      const id = aggregateId(deps.keyring.nodeId, f.indicator_id, bucket);
      const row = await recordAggregate(tx, key, id, await bucketFigures(tx, f.indicator_id, bucket.size, bucket.start));
      objects.push(
        aggregateSighting({
          id,
          indicatorId: f.indicator_id,
          identityId: identity.id as string,
          bucket,
          created: row.created,
          modified: row.modified,
          count: row.count,
          organisations: row.organisations,
          firstSeen: row.first_seen,
          lastSeen: row.last_seen,
          marking,
        }),
      );
    }
    if (objects.length > 0) {
      const signer = originSigner(deps.keyring);
      for (const collectionId of ids) {
        const failed = (await storeOwnObjects(tx, signer, collectionId, [identity, ...objects])).filter((d) => d.outcome === 'failure');
        // Objects this node builds itself always validate: a failure is a bug, and nothing of the run may commit.
        if (failed.length > 0) throw new Error(`sighting aggregates refused: ${failed.map((d) => d.message).join('; ')}`);
      }
    }
    await settleFamily(tx, f, plan.again);
    return objects.length;
  });
  if (published) deps.alerts.kick();
  return published !== undefined;
}

/** One pass: every due family, batch by batch; stops when none is due or every due one is held elsewhere. */
async function pass(deps: Deps, where: { country: string; sector: string }): Promise<void> {
  for (;;) {
    const due = await dueFamilies(deps.database.db, BATCH);
    let taken = 0;
    for (const f of due) if (await aggregateFamily(deps, f, where)) taken++;
    if (due.length < BATCH || taken === 0) return;
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
      if (deps && deps.config.sightings.tickMs > 0) void run();
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
      deps = undefined;
      await loop.idle();
    },
  };
}
