import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { createLog } from '../../src/log.ts';
import type { Log } from '../../src/log.ts';
import { openPGlite, openPostgres } from '../../src/store/database.ts';
import type { Database } from '../../src/store/database.ts';
import { startNode } from '../../src/node.ts';
import { seedPGlite } from './pglite-template.ts';
import type { RunningNode } from '../../src/node.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const TAXII = 'application/taxii+json;version=2.1';
export const STIX = 'application/stix+json;version=2.1';

/** Which database the suite runs on: PostgreSQL when TEST_DATABASE_URL is set, else PGlite. */
export const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

/**
 * A fresh database for one test file: a schema of its own on the PostgreSQL server, or a PGlite
 * data directory of its own (a copy of the suite's migrated template). Each `open` gives another
 * handle on the same data (a restart, a replica).
 */
export async function testDatabase(): Promise<{ open(): Promise<Database>; drop(): Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-'));
    seedPGlite(path.join(dir, 'pgdata'));
    return {
      open: () => openPGlite(path.join(dir, 'pgdata')),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = await testSchema(url);
  return { open: () => openPostgres(schema.url), drop: schema.drop };
}

/** A fresh schema on the PostgreSQL server at `url`: its name, a URL whose sessions use it, and its removal. */
export async function testSchema(url: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const schema = `vigil_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const scoped = new URL(url);
  // Commits do not wait for the server's disk (5 ms an fsync on CI's disk, a few per test request).
  // What sessions see is the same: only a crash of the server itself could lose the last commits,
  // and no test crashes the shared server (killed nodes and ended sessions lose nothing).
  scoped.searchParams.set('options', `-c search_path=${schema} -c synchronous_commit=off`);
  return {
    name: schema,
    url: scoped.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export type TestNode = RunningNode & {
  database: Database;
  /** A request to the node over loopback HTTP, as the admin unless `token` says otherwise. */
  request(pathname: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** Stops this node; `keepData` leaves the database for another node to open. */
  stop(): Promise<void>;
};

export async function startTestNode(
  env: Record<string, string> = {},
  db?: { open(): Promise<Database>; drop(): Promise<void> },
  /** `log(config)`: the node's logger (tests that read what it logs); by default LOG_LEVEL's, on stdout. */
  options: { log?: (config: Config) => Log } = {},
): Promise<TestNode> {
  const owned = !db;
  const source = db ?? (await testDatabase());
  const database = await source.open();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-data-'));
  let node: RunningNode;
  try {
    // Every test's callers share 127.0.0.1, and whole suites send hundreds of requests without
    // valid credentials on purpose: the per-address limit is off unless a test turns it on.
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0',
      ...env,
    });
    node = await startNode(config, database, options.log?.(config));
  } catch (err) {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (owned) await source.drop();
    throw err;
  }
  return {
    ...node,
    database,
    request(pathname, init = {}) {
      const { token = ADMIN_TOKEN, headers, ...rest } = init;
      const h = new Headers(headers);
      if (!h.has('accept')) h.set('accept', TAXII);
      if (token !== null && !h.has('authorization')) h.set('authorization', `Bearer ${token}`);
      return fetch(`${node.url}${pathname}`, { ...rest, headers: h });
    },
    async stop() {
      await node.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (owned) await source.drop();
    },
  };
}

/**
 * What a test node logs, kept: each JSON line parsed into `lines`. Pass `log` to startTestNode's
 * options (with LOG_LEVEL set to the level the test reads).
 */
export function capturedLog(): { lines: Record<string, unknown>[]; log: (config: Config) => Log } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: (config) => createLog(config, sink) };
}
