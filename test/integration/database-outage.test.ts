import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log.ts';
import { openPGlite, openPostgres } from '../../src/store/database.ts';
import { TAXII, onPostgres, startTestNode, testSchema } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { seedPGlite } from '../support/pglite-template.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import type { TcpProxy } from '../support/tcp-proxy.ts';

// A database the node cannot reach is an outage: 503 with Retry-After, as a TAXII error resource,
// and the node serves again once the database is back (the pool opens new connections).

async function readyz(node: TestNode): Promise<{ status: number; body: unknown }> {
  const res = await node.request('/readyz', { token: null, headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
}

async function expectUnavailable(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(res.headers.get('content-type')).toBe(TAXII);
  expect(await res.json()).toMatchObject({ title: 'Service unavailable', error_code: 'unavailable', http_status: '503' });
}

/**
 * Holds the node's next read of api_roots (GET /taxii2/) on the server: an admin session locks the
 * table until `release`. Resolves once the node's session waits on the lock, its query in flight.
 */
async function holdApiRoots(admin: pg.Client, schema: string, application: string, request: () => Promise<Response>) {
  await admin.query('BEGIN');
  await admin.query(`LOCK TABLE ${schema}.api_roots IN ACCESS EXCLUSIVE MODE`);
  const pending = request();
  // Inside a transaction, pg_stat_activity is a snapshot taken at its first read: clear it each time.
  const waiting = async () => {
    await admin.query('SELECT pg_stat_clear_snapshot()');
    return (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [application]))
      .rowCount;
  };
  await expect.poll(waiting, { timeout: 10_000 }).toBe(1);
  return { pending, release: () => admin.query('ROLLBACK') };
}

describe.runIf(onPostgres)('PostgreSQL goes away and comes back', () => {
  const application = `vigil_away_${process.pid}`;
  let proxy: TcpProxy;
  let node: TestNode;
  let schema: Awaited<ReturnType<typeof testSchema>>;
  let admin: pg.Client;

  beforeAll(async () => {
    const server = new URL(process.env.TEST_DATABASE_URL!);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    schema = await testSchema(server.toString());
    const url = new URL(schema.url);
    url.host = `127.0.0.1:${proxy.port}`;
    url.searchParams.set('application_name', application);
    node = await startTestNode({}, { open: () => openPostgres(url.toString(), { connectTimeoutMs: 1000 }), drop: schema.drop });
    admin = new pg.Client({ connectionString: server.toString() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await proxy?.restore().catch(() => {});
    await node?.stop();
    await proxy?.close();
    await schema?.drop();
  });

  it('answers 503 for a request whose connection drops mid-query, and the process lives on', async () => {
    // node-postgres emits 'error' on a client a request holds; unheard, that ended the process.
    const held = await holdApiRoots(admin, schema.name, application, () => node.request('/taxii2/'));
    try {
      await proxy.cut();
      await expectUnavailable(await held.pending);
    } finally {
      await held.release();
      await proxy.restore();
    }
    expect((await node.request('/taxii2/')).status).toBe(200);
  });

  it('answers 503 while the server is away, on TAXII, admin and console paths and /readyz, and 200 once it is back', async () => {
    expect((await node.request('/default/collections/')).status).toBe(200);

    await proxy.cut();
    await expectUnavailable(await node.request('/default/collections/'));
    await expectUnavailable(await node.request('/admin/api-roots', { headers: { accept: 'application/json' } }));
    const page = await node.request('/console/collections', {
      headers: { accept: 'text/html', cookie: `vigil_session=${'a'.repeat(43)}` },
    });
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('5');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await readyz(node)).toEqual({ status: 503, body: { status: 'database unreachable' } });

    await proxy.restore();
    expect(await readyz(node)).toEqual({ status: 200, body: { status: 'ready' } });
    expect((await node.request('/default/collections/')).status).toBe(200);
    expect((await node.request('/admin/api-roots', { headers: { accept: 'application/json' } })).status).toBe(200);
  });

  it('answers 503 within the connect timeout, not never, when the server accepts and says nothing', async () => {
    // Every session reset, then a black hole: the pool must open a new session, which never answers.
    await proxy.mute();
    try {
      const started = Date.now();
      await expectUnavailable(await node.request('/default/collections/', { signal: AbortSignal.timeout(15_000) }));
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await proxy.restore();
    }
    expect((await node.request('/default/collections/')).status).toBe(200);
  });
});

describe.runIf(onPostgres)("PostgreSQL terminates the node's sessions", () => {
  const application = `vigil_outage_${process.pid}`;
  // The server trusts loopback, so any password connects: the log must never show it.
  const PASSWORD = 'pool-secret-0123456789';
  const lines: string[] = [];
  let node: TestNode;
  let schema: Awaited<ReturnType<typeof testSchema>>;
  let admin: pg.Client;

  beforeAll(async () => {
    schema = await testSchema(process.env.TEST_DATABASE_URL!);
    const url = new URL(schema.url);
    url.password = PASSWORD;
    url.searchParams.set('application_name', application);
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLog({ logLevel: 'info' }, sink);
    node = await startTestNode({}, { open: () => openPostgres(url.toString(), { log }), drop: schema.drop }, { log: () => log });
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await node?.stop();
    await schema?.drop();
  });

  const terminate = () => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [application]);

  it('answers 503 for a request whose session is terminated (57P01), and 200 for the next', async () => {
    const held = await holdApiRoots(admin, schema.name, application, () => node.request('/taxii2/'));
    try {
      await terminate();
      await expectUnavailable(await held.pending);
    } finally {
      await held.release();
    }
    // The pool drops the other terminated sessions as it notices them; a request may meet one first.
    await expect.poll(async () => (await node.request('/taxii2/')).status, { timeout: 10_000 }).toBe(200);
  });

  it('logs an idle connection the server terminates, without the connection string', async () => {
    expect((await node.request('/taxii2/')).status).toBe(200); // its connection back in the pool, idle
    const logged = () =>
      lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'database: an idle connection failed; the pool replaces it');
    const before = logged().length;
    await terminate();
    await expect.poll(() => logged().length, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(logged().at(-1)).toMatchObject({
      level: 40,
      err: { code: '57P01', message: 'terminating connection due to administrator command' },
    });
    expect(lines.join('\n')).not.toContain(PASSWORD);
    await expect.poll(async () => (await node.request('/taxii2/')).status, { timeout: 10_000 }).toBe(200);
  });
});

describe.runIf(!onPostgres)("PGlite's worker stops", () => {
  // PGlite runs inside the node: it is unreachable only once its worker thread has died, and the
  // node does not open it again. The stand-in worker is the real one, stopped on a cue.
  const CUE = "SELECT 'stop the worker'";
  let dir: string;
  let node: TestNode;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-outage-'));
    seedPGlite(path.join(dir, 'pgdata'));
    const worker = path.join(dir, 'stopping-worker.mjs');
    writeFileSync(
      worker,
      `import { parentPort } from 'node:worker_threads';
       import ${JSON.stringify(new URL('../../src/store/pglite-worker.ts', import.meta.url).href)};
       parentPort.on('message', (m) => { if (m.op === 'query' && m.sql === ${JSON.stringify(CUE)}) process.exit(70); });`,
    );
    const open = () => openPGlite(path.join(dir, 'pgdata'), { workerUrl: pathToFileURL(worker) });
    // Background work on: the alert runner begins a transaction every ALERT_TICK_MS, and each must
    // fail (not wait forever, not end the process) once the worker is gone.
    node = await startTestNode({ ALERT_TICK_MS: '50' }, { open, drop: async () => {} });
  });
  afterAll(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503, not 500, and /readyz says the database is unreachable', async () => {
    expect((await node.request('/default/collections/')).status).toBe(200);
    await expect(sql.raw(CUE).execute(node.database.db)).rejects.toThrow(/PGlite worker stopped unexpectedly \(exit code 70\)/);
    await expectUnavailable(await node.request('/default/collections/'));
    expect(await readyz(node)).toEqual({ status: 503, body: { status: 'database unreachable' } });
    // A write fails at once too (its rights are read before its transaction begins).
    const write = await node.request('/default/collections/00000000-0000-4000-8000-000000000000/objects/', {
      method: 'POST',
      headers: { 'content-type': TAXII },
      body: JSON.stringify({ objects: [] }),
      signal: AbortSignal.timeout(10_000),
    });
    await expectUnavailable(write);
    // The runner's transactions failed meanwhile; the node still answers.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await node.request('/healthz', { token: null })).status).toBe(200);
  });
});
