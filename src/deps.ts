import type { Config } from './config.ts';
import type { Log } from './log.ts';
import type { Database } from './store/database.ts';
import type { CursorKey } from './services/cursor.ts';
import type { PullOptions, PullOutcome } from './services/pull-options.ts';
import type { Metrics } from './metrics/metrics.ts';
import type { Keyring } from './federation/keyring.ts';
import type { TrustList } from './federation/trust-list.ts';
import type { RateLimits } from './http/rate-limit.ts';
import type { BodyBudget } from './taxii/body.ts';
import type { ClientHints } from './services/client-hints.ts';
import type { PreparedAhead } from './services/prepare-objects.ts';

// The background work of a replica, as requests and the node's shutdown use it. Declared here,
// not imported from the runners (services/jobs.ts, puller.ts, alert-runner.ts, sighting-aggregation.ts), which take the
// Deps they run with: the runners depend on Deps, never the other way.

/** Queued ingest requests (services/jobs.ts). */
export type JobRunner = {
  /**
   * `ready`: the job reads and prepares its objects at once, and stores none before it settles.
   * `ahead`: its first chunks, prepared from the body while the request was recorded.
   */
  kick(statusId: string, ready?: Promise<unknown>, ahead?: PreparedAhead): void;
  /** Resolves when no job this process started is still running (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
};

/** Pulls of peers' collections (services/puller.ts). */
export type Puller = {
  /** Pulls one source now, due or not (unless another puller holds it): undefined then. */
  pullNow(sourceId: string, opts?: Partial<PullOptions>): Promise<PullOutcome | undefined>;
  /** Resolves when no pull this process started is still running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
};

/** Early-warning matching and delivery (services/alert-runner.ts). */
export type AlertRunner = {
  /** Match and deliver now rather than at the next tick (after an ingest commits here). */
  kick(): void;
  /** Called after a pass that made alerts: open streams look for them at once. */
  onAlerts(listener: () => void): () => void;
  /** Runs the matcher and the sender until neither finds work (tests, and the kick). */
  drain(): Promise<void>;
  stop(): Promise<void>;
};

/** Sighting aggregation (services/sighting-aggregation.ts). */
export type SightingAggregator = {
  /** Look for due work now (after reports commit here) rather than at the next tick. */
  kick(): void;
  /** Runs passes until no family is due (tests, and the kick). */
  drain(): Promise<void>;
  stop(): Promise<void>;
};

/** What a runner adds to its contract: it starts with the node's Deps. */
export type Started<T> = T & { start(deps: Deps): void };

/** Everything a request or a background job needs, built once at start and passed in. */
export type Deps = Readonly<{
  config: Config;
  database: Database;
  /** The migration files of this release, read once at start: /readyz compares the database with them. */
  migrations: readonly string[];
  log: Log;
  /** SHA-256 of the admin token. */
  adminTokenHash: Buffer;
  cursorKey: CursorKey;
  /** Runs background ingest work. */
  jobs: JobRunner;
  /** Pulls the sources: peers' collections. */
  puller: Puller;
  /** Matches stored objects against alert subscriptions and delivers the alerts. */
  alerts: AlertRunner;
  /** Publishes sighting aggregates of the reports. */
  sightings: SightingAggregator;
  /** The node's identity and signing keys. */
  keyring: Keyring;
  /** This replica's Prometheus metrics. */
  metrics: Metrics;
  /** The bytes of request bodies this replica holds at once (kept in its memory: it bounds this process's). */
  bodyBudget: BodyBudget;
  /** This replica's request rate limits (kept in its memory). */
  rateLimits: RateLimits;
  /** Which client each recently seen token named: hints a poll proves in its own statement (services/auth.ts). */
  clientHints: ClientHints;
  /** The federation's verified trust list, when one is configured. */
  trustList: TrustList | undefined;
  /** Aborted when the node begins to stop: open alert streams end, so closing the server does not wait on them. */
  stopping: AbortSignal;
}>;
