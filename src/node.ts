import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { createApp } from './app.ts';
import { createDefaults, loadAdminToken, loadCursorKey } from './bootstrap.ts';
import type { Config } from './config.ts';
import type { Deps } from './deps.ts';
import { createLog } from './log.ts';
import type { Log } from './log.ts';
import { createJobRunner } from './services/jobs.ts';
import { createPuller } from './services/puller.ts';
import { createAlertRunner } from './services/alert-runner.ts';
import { createSightingAggregator } from './services/sighting-aggregation.ts';
import { backfillFeeds } from './store/feeds.ts';
import { backfillSightingFigures } from './store/sighting-figures.ts';
import { createMetrics } from './metrics/metrics.ts';
import { RateLimits } from './http/rate-limit.ts';
import { BodyBudget } from './taxii/body.ts';
import { ClientHints } from './services/client-hints.ts';
import { ensureKeyring, loadKeyring } from './federation/keyring.ts';
import { hashToken } from './services/tokens.ts';
import { openPGlite, openPostgres } from './store/database.ts';
import type { Database } from './store/database.ts';
import { migrate, migrationFiles } from './store/migrate.ts';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { ConfigError } from './config.ts';
import { TrustListError, verifyTrustList } from './federation/trust-list.ts';
import type { TrustList } from './federation/trust-list.ts';

export type RunningNode = { deps: Deps; url: string; server: ServerType; close(): Promise<void> };

export async function openDatabase(config: Config, log?: Log): Promise<Database> {
  return config.databaseUrl
    ? openPostgres(config.databaseUrl, { log, readUrls: config.databaseReadUrls })
    : openPGlite(path.join(config.dataDir, 'pgdata'));
}

export async function migrateOrThrow(database: Database): Promise<string[]> {
  const result = await migrate(database);
  if (result.error) throw new Error(`migration ${result.error.migration} failed: ${result.error.message}`);
  return result.applied;
}

/** TRUST_LIST checked against TRUST_ANCHOR at start: a forged or expired list stops the node. */
async function loadTrustList(config: Config): Promise<TrustList | undefined> {
  if (!config.trustList || !config.trustAnchor) return undefined;
  const read = (file: string, setting: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid configuration:\n  ${setting}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  let anchor: JWK;
  try {
    anchor = JSON.parse(read(config.trustAnchor, 'TRUST_ANCHOR')) as JWK;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`invalid configuration:\n  TRUST_ANCHOR: ${config.trustAnchor} is not a JWK`);
  }
  try {
    return await verifyTrustList(read(config.trustList, 'TRUST_LIST'), anchor);
  } catch (err) {
    if (err instanceof TrustListError) throw new ConfigError(`invalid configuration:\n  TRUST_LIST: ${err.message}`);
    throw err;
  }
}

/** Builds the dependencies on an open, migrated database (tests pass their own database). */
export async function buildDeps(
  config: Config,
  database: Database,
  log: Log = createLog(config),
  stopping: AbortSignal = new AbortController().signal,
): Promise<Deps> {
  const admin = loadAdminToken(config);
  if (admin.created) log.info({ file: admin.file }, 'generated an admin token; read it from this file');
  else if (admin.file) log.info({ file: admin.file }, 'using the admin token kept in this file');
  const keys = await ensureKeyring(config.keyDir, config.nodeId);
  log.info({ node_id: keys.node_id, key_dir: config.keyDir }, 'node identity');
  const jobs = createJobRunner();
  const puller = createPuller();
  const alerts = createAlertRunner();
  const sightings = createSightingAggregator();
  const bodyBudget = new BodyBudget(config.requestBytesInFlight);
  const deps: Deps = {
    config,
    database,
    migrations: await migrationFiles(),
    log,
    adminTokenHash: hashToken(admin.token),
    cursorKey: await loadCursorKey(database),
    jobs,
    puller,
    alerts,
    sightings,
    metrics: createMetrics(database, () => bodyBudget.held),
    bodyBudget,
    rateLimits: new RateLimits(config, log),
    clientHints: new ClientHints(),
    keyring: loadKeyring(config.keyDir),
    trustList: await loadTrustList(config),
    stopping,
  };
  const defaults = await createDefaults(database, config);
  if (defaults) log.info({ api_root: 'default', collection: defaults.collectionId }, 'created the default API root and collection');
  jobs.start(deps);
  puller.start(deps);
  alerts.start(deps);
  sightings.start(deps);
  return deps;
}

/** config → database → migrate → app → serve. */
export async function startNode(config: Config, database?: Database, log: Log = createLog(config)): Promise<RunningNode> {
  const db = database ?? (await openDatabase(config, log));
  const applied = await migrateOrThrow(db);
  if (applied.length) log.info({ applied }, 'applied migrations');
  // Once, after the upgrade that brought feeds: before it serves, a node's feeds are complete
  // (a firewall given half a list would let the rest through).
  const backfilled = await backfillFeeds(db.db);
  if (backfilled > 0) log.info({ versions: backfilled }, 'extracted the feed values of objects stored before feeds');
  const figures = await backfillSightingFigures(db.db);
  if (figures > 0) log.info({ versions: figures }, 'extracted the figures of sightings stored before trends');
  const stopping = new AbortController();
  const deps = await buildDeps(config, db, log, stopping.signal);
  const app = createApp(deps);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, database: db.kind }, 'Vigil is listening');
  return {
    deps,
    url,
    server,
    async close() {
      stopping.abort();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      // Kept-alive connections with no request in flight would hold close() until their clients let go.
      (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      await closing;
      // Every runner is told at once: each ends the unit of work in hand (a chunk, a page, a
      // delivery, a batch) and hands the rest back, rather than running on while another stops.
      await Promise.all([deps.puller.stop(), deps.alerts.stop(), deps.sightings.stop(), deps.jobs.stop()]);
      if (!database) await db.close();
    },
  };
}
