import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { startNode } from '../../src/node.ts';
import { openPGlite } from '../../src/store/database.ts';
import { seedPGlite } from '../support/pglite-template.ts';
import { cpuProbe } from './cpu.ts';
import type { CpuProbe } from './cpu.ts';
import { rssProbe } from './rss.ts';
import type { RssProbe } from './rss.ts';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/** Runs SQL beside the node on the same data: the bulk load and the raw PostgreSQL figures. */
export type Sql = <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>;

export type Target = {
  kind: 'postgres' | 'pglite';
  url: string;
  /** The node's schema (PostgreSQL), for another target to share. */
  schema?: string;
  /** SQL on the node's own schema; `connections` separate sessions for concurrent raw work. */
  sql: Sql;
  sessions(connections: number): Promise<{ sql: Sql; close(): Promise<void> }>;
  rss: RssProbe;
  /** CPU seconds of the node and of PostgreSQL (null where they cannot be told apart from the harness). */
  cpu: CpuProbe;
  /** PostgreSQL only: the HTTP floor of a poll (floor-server.ts) on the node's schema, in a process of its own. */
  floor?(): Promise<{ url: string; cpu: CpuProbe; stop(): Promise<void> }>;
  stop(): Promise<void>;
};

// The node turns JIT off on its sessions; the raw figures run under the same settings.
function scopedUrl(url: string, schema: string, jitOff = false): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}${jitOff ? ' -c jit=off' : ''}`);
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function poolSql(pool: pg.Pool): Sql {
  return async <T>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as T[];
}

/**
 * The V8 flags the node runs with: those of `npm start` (package.json), so the bench measures the
 * node as deployed; BENCH_NODE_FLAGS replaces them for an experiment.
 */
export function nodeFlags(): string[] {
  if (process.env.BENCH_NODE_FLAGS !== undefined) return process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean);
  const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.split(' ').filter((word) => word.startsWith('--'));
}

/** A node in a child process against a fresh schema of the PostgreSQL server at `url`, dropped on stop. */
// BENCH_LOG_LEVEL=warn: the node's log on stderr (a background job's failures, otherwise silent).
/** What every bench node is started with: webhook receivers and peers live on loopback here. */
// RATE_LIMIT_PER_MINUTE=0: the TLP scenario polls as one GREEN client from many workers back to
// back, hundreds of requests a second; a benchmark measures what a replica serves, not one client's allowance.
const BENCH_ENV = { ALERT_WEBHOOK_ALLOW_PRIVATE: 'true', ALERT_WEBHOOK_ALLOW_HTTP: 'true', RATE_LIMIT_PER_MINUTE: '0' };

/**
 * `readUrls`: servers replicating `url` for the node's reads (DATABASE_READ_URL), scoped to the
 * same schema. `schema`: a schema another target made and still owns, to share its data (this
 * target neither makes nor drops it).
 */
export async function postgresTarget(
  url: string,
  extraEnv: Record<string, string> = {},
  options: { readUrls?: string[]; schema?: string } = {},
): Promise<Target> {
  const schema = options.schema ?? `vigil_bench_${randomBytes(6).toString('hex')}`;
  if (!options.schema) await adminQuery(url, `CREATE SCHEMA ${schema}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-'));
  const env = {
    ...process.env,
    ...BENCH_ENV,
    ...extraEnv,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    DATABASE_URL: scopedUrl(url, schema),
    ...(options.readUrls?.length ? { DATABASE_READ_URL: options.readUrls.map((u) => scopedUrl(u, schema)).join(',') } : {}),
  };
  // BENCH_CPU_PROF=dir: the node writes a V8 CPU profile there when it stops (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(path.join(import.meta.dirname, 'node-child.ts'), [], {
    env,
    execArgv: [...prof, ...nodeFlags()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const nodeUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the node exited with ${code} before listening`)));
  });
  const pool = new pg.Pool({ connectionString: scopedUrl(url, schema, true), max: 8 });
  const rss = rssProbe(child.pid!);
  const cpu = cpuProbe(child.pid!, new URL(url).pathname.slice(1) || null);
  return {
    kind: 'postgres',
    url: nodeUrl,
    schema,
    sql: poolSql(pool),
    async sessions(n) {
      const p = new pg.Pool({ connectionString: scopedUrl(url, schema, true), max: n });
      return { sql: poolSql(p), close: () => p.end() };
    },
    rss,
    cpu,
    async floor() {
      const floorChild = fork(path.join(import.meta.dirname, 'floor-server.ts'), [], {
        env: { ...process.env, FLOOR_DATABASE_URL: scopedUrl(url, schema, true) },
        execArgv: nodeFlags(),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const floorUrl = await new Promise<string>((resolve, reject) => {
        floorChild.once('message', (m) => resolve((m as { url: string }).url));
        floorChild.once('exit', (code) => reject(new Error(`the floor server exited with ${code} before listening`)));
      });
      const floorCpu = cpuProbe(floorChild.pid!, new URL(url).pathname.slice(1) || null);
      return {
        url: floorUrl,
        cpu: floorCpu,
        async stop() {
          floorCpu.stop();
          const exited = new Promise((resolve) => floorChild.once('exit', resolve));
          floorChild.disconnect();
          await exited;
        },
      };
    },
    async stop() {
      rss.stop();
      cpu.stop();
      await pool.end();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
      if (!options.schema) await adminQuery(url, `DROP SCHEMA ${schema} CASCADE`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A node in this process on PGlite (one session: the raw figures share it, as the node does). */
export async function pgliteTarget(extraEnv: Record<string, string> = {}): Promise<Target> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-'));
  // Under the test suite (bench:smoke), a copy of its migrated template: no figure covers the start.
  seedPGlite(path.join(dataDir, 'pgdata'));
  const database = await openPGlite(path.join(dataDir, 'pgdata'));
  const config = loadConfig({
    ...BENCH_ENV,
    ...extraEnv,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
  });
  const node = await startNode(config, database);
  const sql: Sql = async <T>(text: string, params: unknown[] = []) =>
    (await database.db.executeQuery(CompiledQuery.raw(text, params))).rows as T[];
  const rss = rssProbe(process.pid);
  return {
    kind: 'pglite',
    url: node.url,
    sql,
    sessions: async () => ({ sql, close: async () => {} }),
    rss,
    // In-process: the node, PGlite and the harness share one process's time.
    cpu: cpuProbe(null, null),
    async stop() {
      rss.stop();
      await node.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
