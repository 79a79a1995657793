import { randomUUID } from 'node:crypto';
import type { Deps, Puller, Started } from '../deps.ts';
import { createPeerClients } from '../federation/peer-client.ts';
import { claimSource } from '../store/sources.ts';
import type { ClaimedSource } from '../store/sources.ts';
import { DEFAULT_PULL, pullSource } from './pull.ts';
import type { PullOptions } from './pull.ts';

const MAX_CONCURRENT = 4;

/**
 * Runs the sources: a timer claims due ones (a lease each, so replicas sharing one
 * PostgreSQL never pull the same source at once) and pulls a few concurrently, so a slow
 * peer does not hold up the others. A dead replica's sources return when their lease ends.
 */
export function createPuller(defaults: PullOptions = DEFAULT_PULL): Started<Puller> {
  let deps: Deps | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  const clients = createPeerClients();
  const owner = randomUUID();
  const running = new Set<Promise<unknown>>();
  let pulls = 0;
  let ticking = false;

  const track = <T>(work: Promise<T>): Promise<T> => {
    const p = work.finally(() => running.delete(p));
    running.add(p);
    return p;
  };

  const pull = (d: Deps, sub: ClaimedSource, opts: PullOptions, goOn = false) => {
    pulls++;
    const run = async () => {
      let outcome = await pullSource(d, clients, sub, opts);
      // A backlog longer than one run goes on at once, not an interval later: the run ended by
      // releasing the lease, and takes it again as the timer would (another replica may win).
      while (goOn && outcome.more && !stopping) {
        const next = await claimSource(d.database.db, owner, d.config.workLeaseSeconds, sub.id);
        if (!next) break;
        outcome = await pullSource(d, clients, next, opts);
      }
      return outcome;
    };
    return track(run().finally(() => pulls--));
  };

  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      while (deps && !stopping && pulls < MAX_CONCURRENT) {
        const sub = await claimSource(deps.database.db, owner, deps.config.workLeaseSeconds);
        if (!sub) return;
        void pull(deps, sub, defaults, true).catch((err: unknown) => deps?.log.error({ err }, 'pull crashed'));
      }
    } finally {
      ticking = false;
    }
  };

  return {
    async pullNow(id, opts = {}) {
      if (!deps) throw new Error('the puller is not running');
      const sub = await claimSource(deps.database.db, owner, deps.config.workLeaseSeconds, id);
      if (!sub) return undefined;
      return pull(deps, sub, { ...defaults, ...opts });
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    start(d) {
      deps = d;
      stopping = false;
      const tickMs = d.config.pullTickMs;
      if (tickMs === 0) return;
      timer = setInterval(() => void track(tick()).catch((err: unknown) => deps?.log.error({ err }, 'puller tick failed')), tickMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      // Abort pulls in flight: each fails as a lost connection, keeps its cursor, and its lease
      // lets another replica (or the next start) take the source over.
      await clients.destroy();
      await this.idle();
      deps = undefined;
    },
  };
}
