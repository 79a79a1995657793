import type { Config } from './config.ts';
import type { Log } from './log.ts';
import type { Database } from './store/database.ts';
import type { CursorKey } from './services/cursor.ts';
import type { JobRunner } from './services/jobs.ts';
import type { Puller } from './services/puller.ts';
import type { AlertRunner } from './services/alert-runner.ts';
import type { Metrics } from './metrics/metrics.ts';
import type { Keyring } from './federation/keyring.ts';
import type { TrustList } from './federation/trust-list.ts';
import type { RateLimits } from './http/rate-limit.ts';

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
  /** Pulls the subscriptions to peers' collections. */
  puller: Puller;
  /** Matches stored objects against alert subscriptions and delivers the alerts. */
  alerts: AlertRunner;
  /** The node's identity and signing keys. */
  keyring: Keyring;
  /** This replica's Prometheus metrics. */
  metrics: Metrics;
  /** This replica's request rate limits (kept in its memory). */
  rateLimits: RateLimits;
  /** The federation's verified trust list, when one is configured. */
  trustList: TrustList | undefined;
  /** Aborted when the node begins to stop: open alert streams end, so closing the server does not wait on them. */
  stopping: AbortSignal;
}>;
