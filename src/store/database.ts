import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, PGliteDialect, PGliteDriver, PostgresDialect, sql } from 'kysely';
import type { DatabaseConnection, Driver, PGliteDialectConfig } from 'kysely';
import pg from 'pg';
import { PGliteWorker } from './pglite-proxy.ts';
import type { Schema } from './schema.ts';

/** What a migration needs beyond Kysely: run a multi-statement script under a cluster-wide lock. */
/** What store modules run their statements on: the node's Kysely, or a transaction of it. */
export type Db = Kysely<Schema>;

export type ScriptSession = {
  exec(script: string): Promise<void>;
  query<T>(text: string): Promise<T[]>;
};

/** A read replica (a hot standby of the primary): its name (host, port, database) and how far behind it is. */
export type Replica = { name: string; lagSeconds(): Promise<number> };

export type Database = {
  db: Kysely<Schema>;
  /**
   * Where a TAXII read goes: the next read replica in turn, or the primary without replicas.
   * Readers keep before the horizon (write-horizon.ts), which holds on a replica as on the primary.
   */
  read(): Kysely<Schema>;
  replicas: readonly Replica[];
  kind: 'postgres' | 'pglite';
  /** Runs fn on one dedicated session holding an advisory lock, so replicas never migrate at once. */
  withScriptSession<T>(fn: (session: ScriptSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** The connection pool of this replica (PostgreSQL only: PGlite has one session). */
  poolStats?: () => { total: number; idle: number; waiting: number };
};

const MIGRATION_LOCK = 727_384_001;

/**
 * A statement whose text starts with this comment runs as a named prepared statement on
 * PostgreSQL: parsed and planned once per session, not once per request (the hot reads).
 * PGlite ignores it. Its text must not vary with a list's length more than a little.
 */
export const PREPARED = '/*prepared*/';
const PREPARED_PER_SESSION = 100;

type QueryArgs = [config: unknown, values?: unknown, callback?: unknown];
const PgClient = pg.Client as unknown as new (config?: pg.ClientConfig) => { query(...args: QueryArgs): unknown };

class PreparingClient extends PgClient {
  readonly #names = new Map<string, string>();
  override query(...args: QueryArgs): unknown {
    const [text, values] = args;
    if (typeof text === 'string' && text.startsWith(PREPARED) && Array.isArray(values) && args.length === 2) {
      let name = this.#names.get(text);
      if (name === undefined && this.#names.size < PREPARED_PER_SESSION) {
        name = `vigil_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
        this.#names.set(text, name);
      }
      if (name !== undefined) return this.#promised({ name, text, values });
    }
    const submittable = typeof (text as { submit?: unknown } | null)?.submit === 'function';
    if (args.length <= 2 && typeof values !== 'function' && !submittable) return this.#promised(text, values);
    return super.query(...args);
  }

  /**
   * The query with a callback, as a promise. pg's own promise kept every result alive past the
   * next scavenge: a loop of 48 KB results had them all promoted and the old generation collected
   * every few hundred queries, where with a callback they stay young garbage. The stack of an
   * error leads back to the caller, as pg's promise does it.
   */
  #promised(config: unknown, values?: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      super.query(config, values, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
    }).catch((err: unknown) => {
      if (err instanceof Error) Error.captureStackTrace(err);
      throw err;
    });
  }
}

/** Where the store reports what no caller hears (the node's pino logger fits). */
export type StoreLog = { warn(obj: { err: unknown }, msg: string): void };

/**
 * How long opening a session may take (TCP, TLS, authentication): a server that accepts and then
 * says nothing (a network black hole, a stuck proxy) is an outage (503), not a request that hangs.
 * Only the opening: a request waiting for a free session of a busy pool waits on.
 */
const CONNECT_TIMEOUT_MS = 10_000;

type PoolOptions = { poolSize?: number; log?: StoreLog; connectTimeoutMs?: number };

/**
 * `genericPlans`: the sessions of the read pools plan each prepared statement once. PostgreSQL
 * otherwise plans a hot read again on every execution whenever a plan for the request's own
 * values looks cheaper than one for any value (always, for a poll at the head of the
 * collection), and that planning cost four times the read itself: about 0.8 ms a poll at
 * 1,000,000 objects, against 0.1 ms executing. The plan for any value is the same index walk.
 * Writers keep the default: their statements' sizes vary, and generic plans made ingest about
 * half as fast.
 */
function openPool(url: string, options: PoolOptions & { genericPlans?: boolean }): pg.Pool {
  const connectionTimeoutMillis = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  class TimedClient extends PreparingClient {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis });
    }
  }
  // Idle connections are kept (pg-pool closes them after 10 s by default). A new connection costs
  // PostgreSQL a backend, its settings and a plan of each hot statement before it serves as fast
  // as the others: SIEMs that poll on the minute, after a quiet spell, found a pool of one or two
  // and waited for the rest to open (800 empty polls/s after 12 s idle: p99 68-159 ms, against
  // 28-55 ms on kept connections). At most poolSize a pool, opened only as the load asks.
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    idleTimeoutMillis: 0,
    Client: TimedClient as unknown as typeof pg.Client,
  });
  // An idle connection that fails (the server restarted, a session terminated, the network cut):
  // the pool drops it and opens another when needed; no request hears of it, so the log does.
  // The error names the server's host and port at most, never the URL with its password.
  pool.on('error', (err) => options.log?.warn({ err }, 'database: an idle connection failed; the pool replaces it'));
  pool.on('connect', (client) => {
    // A connection lost while a request holds it: the request's query fails (a 503), and the
    // pool drops it on release. pg-pool listens only while it is idle; unheard, it ended the process.
    client.on('error', () => {});
    // JIT compilation costs hundreds of milliseconds on page-sized queries and saves nothing.
    const settings = options.genericPlans ? 'SET jit = off; SET plan_cache_mode = force_generic_plan' : 'SET jit = off';
    void client.query(settings).catch(() => {});
  });
  return pool;
}

/** host:port/database of a URL: never its user or password. */
function replicaName(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

/**
 * How far a standby is behind its primary: 0 when it has replayed all it received, else the
 * age of the last transaction it replayed. A server that is not a standby is never behind.
 */
async function replicaLag(db: Kysely<Schema>): Promise<number> {
  const r = await sql<{ lag: number | null }>`
    SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag`.execute(db);
  return Math.max(0, r.rows[0]?.lag ?? 0);
}

export async function openPostgres(url: string, options: PoolOptions & { readUrls?: readonly string[] } = {}): Promise<Database> {
  const pool = openPool(url, options);
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  const readerOn = (u: string) => {
    const readPool = openPool(u, { ...options, genericPlans: true });
    return { pool: readPool, db: new Kysely<Schema>({ dialect: new PostgresDialect({ pool: readPool }) }), name: replicaName(u) };
  };
  const readers = (options.readUrls ?? []).map(readerOn);
  // Without replicas the reads still have sessions of their own, on the primary: see openPool.
  const reading = readers.length > 0 ? readers : [readerOn(url)];
  let turn = 0;
  return {
    db,
    read: () => reading[turn++ % reading.length]!.db,
    replicas: readers.map((r) => ({ name: r.name, lagSeconds: () => replicaLag(r.db) })),
    kind: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async withScriptSession(fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        try {
          return await fn({
            exec: async (script) => void (await client.query(script)),
            query: async (text) => (await client.query(text)).rows,
          });
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
        }
      } finally {
        client.release();
      }
    },
    async close() {
      for (const r of reading) {
        await r.db.destroy();
        if (!r.pool.ending) await r.pool.end();
      }
      await db.destroy();
      // Kysely ends the pool only once a query of its own has run: `vigil migrate` runs scripts
      // on the pool directly, and its idle session kept the process alive 10 s after the work.
      if (!pool.ending) await pool.end();
    },
  };
}

/**
 * Kysely's PGlite driver hands its single connection to every caller at once, so a query from
 * one request could run inside another request's transaction. This driver queues callers.
 */
class QueuedPGliteDriver extends PGliteDriver implements Driver {
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  override async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.#release = release;
    return super.acquireConnection();
  }

  override async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}

class QueuedPGliteDialect extends PGliteDialect {
  readonly #pglite: PGliteDialectConfig['pglite'];
  constructor(pglite: PGliteDialectConfig['pglite']) {
    super({ pglite });
    this.#pglite = pglite;
  }
  override createDriver(): Driver {
    return new QueuedPGliteDriver({ pglite: this.#pglite });
  }
}

const INITDB = fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url));

/**
 * Makes a fresh PGlite data folder in a process of its own. PGlite's initdb grows its
 * WebAssembly memory to about a gigabyte, which is never given back: a node started on a fresh
 * folder idled at 500-700 MB, against about 350 MB once restarted (measured with `npm start`);
 * in a worker thread stopped afterwards, still at 450-490 MB. Made by a process that exits, the
 * node's own peak is that of its migrations.
 */
async function initdb(folder: string): Promise<void> {
  if (existsSync(folder) && !statSync(folder).isDirectory()) throw new Error(`PGlite's data folder ${folder} is a file, not a folder`);
  const child = spawn(process.execPath, [INITDB, folder], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code === 0) return;
  const why = stderr.trim().split('\n').at(-1) || `exit code ${code ?? signal}`;
  throw new Error(`PGlite could not make its data folder ${folder}: ${why}`);
}

/**
 * The embedded database: PostgreSQL in WebAssembly, kept in `dir` (or memory). It runs in a
 * worker thread (pglite-worker.ts, or a test's stand-in `workerUrl`), so a heavy statement does
 * not stall the event loop.
 */
export async function openPGlite(dir: string | undefined, options: { workerUrl?: URL } = {}): Promise<Database> {
  const folder = dir ? path.resolve(dir) : undefined;
  if (folder) mkdirSync(path.dirname(folder), { recursive: true });
  if (folder && !existsSync(path.join(folder, 'PG_VERSION'))) await initdb(folder);
  const pglite = await PGliteWorker.create(folder, options.workerUrl);
  const db = new Kysely<Schema>({ dialect: new QueuedPGliteDialect(pglite) });
  return {
    db,
    read: () => db,
    replicas: [],
    kind: 'pglite',
    async withScriptSession(fn) {
      return fn({
        exec: async (script) => void (await pglite.exec(script)),
        query: async <T>(text: string) => (await pglite.query<T>(text)).rows,
      });
    },
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
