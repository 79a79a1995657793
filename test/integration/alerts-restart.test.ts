import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveries, eventually, flakyReceiver, subscribe, verifyReceived } from '../support/alerts.ts';
import { freePort, nodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { testSchema } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { indicator, postObjects } from '../support/stix.ts';

// A node killed (SIGKILL: no shutdown) between the ingest and the delivery loses no alert: the
// outbox row committed with the objects, and an alert once matched waits in the database.
// Real processes, on PGlite (its data directory, recovered after the crash) or PostgreSQL.

const OPEN = { ALERT_WEBHOOK_ALLOW_PRIVATE: 'true', ALERT_WEBHOOK_ALLOW_HTTP: 'true', LOG_LEVEL: 'error', PULL_TICK_MS: '0' };
let dataDir: string;
let port: number;
let schema: Awaited<ReturnType<typeof testSchema>> | undefined;
const procs: NodeProcess[] = [];
// Retries no sooner than half a second: no delivery is in flight when a process is killed.
const RETRY = { ALERT_RETRY_BASE_SECONDS: '1', ALERT_RETRY_MAX_SECONDS: '1' };
/** The running node each test leaves for the next: a fresh database costs seconds to create. */
let running: NodeProcess | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-restart-'));
  port = await freePort();
  if (process.env.TEST_DATABASE_URL) schema = await testSchema(process.env.TEST_DATABASE_URL);
});
afterAll(async () => {
  for (const p of procs.splice(0)) await p.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await schema?.drop();
});

/** A node process on this test's database: a fresh data directory, or the schema on the server. */
function start(name: string, port: number, env: Record<string, string>): NodeProcess {
  const p = nodeProcess(name, port, { ...OPEN, DATA_DIR: dataDir, ...(schema ? { DATABASE_URL: schema.url } : {}), ...env });
  procs.push(p);
  return p;
}

async function setup(p: NodeProcess, webhookUrl: string) {
  const col = await p.admin('POST', '/admin/collections', { api_root: 'default', title: `restart ${Date.now()}` });
  const client = await p.admin('POST', '/admin/clients', {
    name: `c-${Date.now()}`,
    clearance: 'AMBER',
    grants: [{ collection_id: col.id, can_read: true, can_write: true }],
  });
  const sub = await subscribe(p, client.token, {
    name: 'hook',
    collections: [col.id],
    filter: { types: ['indicator'] },
    webhook_url: webhookUrl,
  });
  return { base: `/default/collections/${col.id}`, token: client.token as string, sub };
}

// The two cases share one database, one after the other (they each take a restart or two).
describe('a node killed between ingest and delivery', { timeout: 120_000 }, () => {
  it('delivers after a restart what was stored before the crash and never matched', async () => {
    const r = flakyReceiver();
    await r.start();
    try {
      // Background alert work off: the outbox row commits with the objects, and nothing else happens.
      const first = start('first', port, { ALERT_TICK_MS: '0' });
      await first.start();
      const c = await setup(first, r.url);
      const ioc = indicator();
      expect((await postObjects(first as unknown as TestNode, c.base, [ioc], c.token)).success_count).toBe(1);
      expect(await deliveries(first, c.token, c.sub.id)).toEqual([]);
      expect((await first.kill()).signal).toBe('SIGKILL');

      const second = start('second', port, { ALERT_TICK_MS: '50', ...RETRY });
      await second.start();
      running = second;
      const [alert] = await r.waitForKeys(1, 15_000);
      expect(alert!.json.objects.map((o: { id: string }) => o.id)).toEqual([ioc.id]);
      expect((await verifyReceived(second, alert!)).jti).toBe(alert!.key);
      await eventually(async () => (await deliveries(second, c.token, c.sub.id))[0]?.state === 'delivered');
      await new Promise((res) => setTimeout(res, 300));
      expect(r.requests).toHaveLength(1);
    } finally {
      await r.stop();
    }
  });

  it('delivers after a restart an alert that was matched and failed before the crash, exactly once', async () => {
    const r = flakyReceiver();
    const down = await r.reserve();
    try {
      const first = running ?? start('second', port, { ALERT_TICK_MS: '50', ...RETRY });
      if (!first.running()) await first.start();
      const c = await setup(first, down);
      await postObjects(first as unknown as TestNode, c.base, [indicator()], c.token);
      const [failed] = await eventually(
        async () => {
          const d = await deliveries(first, c.token, c.sub.id);
          return d[0]?.attempts === 1 && d;
        },
        10_000,
        'a refused attempt',
      );
      await first.kill();
      expect(failed).toMatchObject({ state: 'pending', last_error: expect.stringMatching(/ECONNREFUSED/) });

      await r.start();
      const second = start('third', port, { ALERT_TICK_MS: '50', ...RETRY });
      await second.start();
      const [alert] = await r.waitForKeys(1, 15_000);
      expect(alert!.key).toBe(failed.id);
      const [row] = await eventually(async () => {
        const d = await deliveries(second, c.token, c.sub.id);
        return d[0]?.state === 'delivered' && d;
      });
      expect(row.attempts).toBe(2);
      expect(r.requests).toHaveLength(1);
    } finally {
      await r.stop();
    }
  });
  it('sends again, under the same idempotency key, an alert whose delivery was in flight when the node died', async () => {
    if (running?.running()) await running.kill();
    // The first attempt hangs (the node dies while it waits); the next one is answered.
    const r = flakyReceiver((req) => (req.attempt === 0 ? 'hang' : 200));
    await r.start();
    try {
      const fast = { ALERT_TICK_MS: '50', ...RETRY, WORK_LEASE_SECONDS: '2', ALERT_WEBHOOK_TIMEOUT_MS: '1000' };
      const first = start('fourth', port, fast);
      await first.start();
      const c = await setup(first, r.url);
      await postObjects(first as unknown as TestNode, c.base, [indicator()], c.token);
      await eventually(async () => r.requests.length === 1, 15_000, 'a delivery in flight');
      expect((await first.kill()).signal).toBe('SIGKILL');

      const second = start('fifth', port, fast);
      await second.start();
      running = second;
      await eventually(
        async () => (await deliveries(second, c.token, c.sub.id))[0]?.state === 'delivered',
        20_000,
        'delivered after the restart',
      );
      // Sent twice at most, always under one key: the receiver acts on it once.
      expect(r.requests.length).toBeGreaterThanOrEqual(2);
      expect(new Set(r.requests.map((q) => q.key)).size).toBe(1);
      expect(r.keys().size).toBe(1);
    } finally {
      await r.stop();
    }
  });
});
