import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, nodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { TAXII, testSchema } from '../support/node.ts';
import { lateDefinitionBundle } from '../support/bundles.ts';
import { indicator } from '../support/stix.ts';

// Faults as a suite: a node killed with SIGKILL (no shutdown at all) in the middle of its work,
// then started again on the same database. Real processes, on PGlite (its data directory,
// recovered after the crash) or PostgreSQL. What was acknowledged is neither lost nor doubled.

const ENV = { LOG_LEVEL: 'error', PULL_TICK_MS: '0', ALERT_TICK_MS: '0', SYNC_INGEST_MAX_OBJECTS: '10', INGEST_LEASE_SECONDS: '3' };

let dataDir: string;
let port: number;
let schema: Awaited<ReturnType<typeof testSchema>> | undefined;
const procs: NodeProcess[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'vigil-faults-'));
  port = await freePort();
  if (process.env.TEST_DATABASE_URL) schema = await testSchema(process.env.TEST_DATABASE_URL);
});
afterAll(async () => {
  for (const p of procs.splice(0)) await p.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await schema?.drop();
});

function start(name: string): NodeProcess {
  const p = nodeProcess(name, port, { ...ENV, DATA_DIR: dataDir, ...(schema ? { DATABASE_URL: schema.url } : {}) });
  procs.push(p);
  return p;
}

async function statusOf(p: NodeProcess, id: string): Promise<any> {
  return (await p.request(`/default/status/${id}/`)).json();
}

describe('a node killed during a queued ingest that holds bad objects and a late marking definition', { timeout: 180_000 }, () => {
  it('finishes after a restart: every object accounted for once, the bad ones failed, none withheld', async () => {
    const first = start('first');
    await first.start(90_000);
    const col = await first.admin('POST', '/admin/collections', { api_root: 'default', title: 'faults' });
    const base = `/default/collections/${col.id}`;
    const good = lateDefinitionBundle(6_000);
    // Bad objects spread through the request: a broken pattern, a number no double holds.
    const bad = Array.from({ length: 30 }, (_, i) => indicator({ name: `bad ${i}`, pattern: "[ipv4-addr:value = '203.0.113.9'" }));
    const objects = [...good];
    bad.forEach((o, i) => objects.splice((i * 197) % objects.length, 0, o));
    const body = JSON.stringify({ objects }).replace(`"name":"bad 7"`, `"name":"bad 7","x_n":1e400`);
    const res = await first.request(`${base}/objects/`, { method: 'POST', headers: { 'content-type': TAXII }, body });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // Killed once some chunks are stored and some are not.
    let before: any;
    for (let i = 0; i < 600; i++) {
      before = await statusOf(first, id);
      if (before.success_count > 0 && before.pending_count > 0) break;
      if (before.status === 'complete') throw new Error('the ingest finished before the node could be killed: make it larger');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await first.kill()).signal).toBe('SIGKILL');
    expect(before.pending_count).toBeGreaterThan(0);

    const second = start('second');
    await second.start(90_000);
    let status: any;
    for (let i = 0; i < 900; i++) {
      status = await statusOf(second, id);
      if (status.status === 'complete') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toMatchObject({ status: 'complete', total_count: objects.length, success_count: good.length, failure_count: bad.length, pending_count: 0 });
    expect(status.successes.filter((s: any) => s.message !== 'added')).toEqual([]);
    // Stored once each: the manifest holds every good object, and only those.
    const ids: string[] = [];
    for (let next: string | undefined, page = 0; page < 100; page++) {
      const r: any = await (await second.request(`${base}/manifest/?limit=1000${next ? `&next=${encodeURIComponent(next)}` : ''}`)).json();
      ids.push(...(r.objects ?? []).map((m: { id: string }) => m.id));
      if (!r.more) break;
      next = r.next;
    }
    expect(ids).toHaveLength(good.length);
    expect(new Set(ids)).toEqual(new Set(good.map((o) => o.id)));
    expect((await second.admin('GET', `/admin/collections/${col.id}/denied`)).objects).toEqual([]);
    await second.kill();
  });
});
