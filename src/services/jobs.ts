import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Deps, JobRunner, Started } from '../deps.ts';
import { claimJob, deleteExpiredStatuses, deleteJob, extendLease } from '../store/statuses.ts';
import { asWriter } from '../store/write-horizon.ts';
import { ingestPending } from './ingest.ts';
import { countIngested } from '../metrics/metrics.ts';
import { originSigner } from '../federation/origin-signature.ts';
import type { PreparedAhead } from './prepare-objects.ts';

/**
 * How often a replica looks for jobs whose replica died (their lease ran out): at most every
 * 30 s, and at least twice a lease, so a crashed job waits about one lease to be taken over.
 */
function sweepMs(leaseSeconds: number): number {
  return Math.min(30_000, (leaseSeconds * 1000) / 2);
}

async function processJob(
  deps: Deps,
  stopping: () => boolean,
  statusId?: string,
  ready?: Promise<unknown>,
  ahead?: PreparedAhead,
): Promise<boolean> {
  const lease = deps.config.workLeaseSeconds;
  const job = await claimJob(deps.database.db, lease, statusId);
  if (!job) {
    ahead?.cancel();
    return false;
  }
  const db = deps.database.db;
  const done = await ingestPending(
    db,
    async (work) => {
      await ready?.catch(() => {});
      return asWriter(db, job.collection_id, lease, work);
    },
    originSigner(deps.keyring),
    { collectionId: job.collection_id, statusId: job.status_id, total: job.total_count },
    {
      between: async () => {
        // On shutdown, stop after this chunk and hand the rest back at once: the next replica (or
        // the next start) resumes from the objects still pending.
        if (stopping()) {
          await extendLease(db, job.status_id, -lease);
          return false;
        }
        await extendLease(db, job.status_id, lease);
        // Let requests run between chunks: a 40 MB bundle must not stall the node.
        await yieldToEventLoop();
        return true;
      },
      committed: (levels, reported) => {
        countIngested(deps.metrics, job.collection_id, levels);
        if (levels.length > 0) deps.alerts.kick();
        if (reported > 0) deps.sightings.kick();
      },
      reporter: job.client_id,
      ahead,
    },
  );
  if (done) await deleteJob(deps.database.db, job.status_id);
  return done;
}

/**
 * Runs queued ingest jobs: at once for a job this replica queued, and on a timer for any job
 * whose replica died (its lease runs out). Also drops expired statuses.
 */
export function createJobRunner(): Started<JobRunner> {
  let deps: Deps | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  const isStopping = () => stopping;
  const running = new Set<Promise<unknown>>();

  const track = (work: Promise<unknown>) => {
    const p = work
      .catch((err: unknown) => deps?.log.error({ err }, 'ingest job failed; it will be retried when its lease ends'))
      .finally(() => running.delete(p));
    running.add(p);
  };

  const sweep = async () => {
    if (!deps) return;
    await deleteExpiredStatuses(deps.database.db);
    while (!stopping && (await processJob(deps, isStopping))) {}
  };

  return {
    kick(statusId, ready, ahead) {
      if (deps && !stopping) track(processJob(deps, isStopping, statusId, ready, ahead));
      else ahead?.cancel();
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
    start(d) {
      deps = d;
      stopping = false;
      track(sweep());
      timer = setInterval(() => track(sweep()), sweepMs(d.config.workLeaseSeconds));
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      await this.idle();
      deps = undefined;
    },
  };
}
