import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, nodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { TAXII, startTestNode, testSchema } from '../support/node.ts';
import { lateDefinitionBundle } from '../support/bundles.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';

// Faults as a suite: a node killed with SIGKILL (no shutdown at all) in the middle of its work,
// then started again on the same database. Real processes, on PGlite (its data directory,
// recovered after the crash) or PostgreSQL. What was acknowledged is neither lost nor doubled.

const ENV = { LOG_LEVEL: 'error', PULL_TICK_MS: '0', ALERT_TICK_MS: '0', SYNC_INGEST_MAX_OBJECTS: '10', WORK_LEASE_SECONDS: '3' };

/** A node's own database (a data directory, or a schema on the PostgreSQL server) and port, kept across its restarts. */
type Home = { dataDir: string; port: number; schema?: Awaited<ReturnType<typeof testSchema>> };
const homes: Home[] = [];
const procs: NodeProcess[] = [];

async function home(): Promise<Home> {
  const h: Home = { dataDir: mkdtempSync(path.join(tmpdir(), 'vigil-faults-')), port: await freePort() };
  if (process.env.TEST_DATABASE_URL) h.schema = await testSchema(process.env.TEST_DATABASE_URL);
  homes.push(h);
  return h;
}

afterAll(async () => {
  for (const p of procs.splice(0)) await p.kill();
  for (const h of homes.splice(0)) {
    rmSync(h.dataDir, { recursive: true, force: true });
    await h.schema?.drop();
  }
});

function start(name: string, h: Home, env: Record<string, string> = {}): NodeProcess {
  const p = nodeProcess(name, h.port, { ...ENV, DATA_DIR: h.dataDir, ...(h.schema ? { DATABASE_URL: h.schema.url } : {}), ...env });
  procs.push(p);
  return p;
}

let ingestHome: Home;
beforeAll(async () => {
  ingestHome = await home();
});

async function statusOf(p: NodeProcess, id: string): Promise<any> {
  return (await p.request(`/default/status/${id}/`)).json();
}

describe('a node killed during a queued ingest that holds bad objects and a late marking definition', { timeout: 180_000 }, () => {
  it('finishes after a restart: every object accounted for once, the bad ones failed, none withheld', async () => {
    const first = start('first', ingestHome);
    await first.start(90_000);
    const col = await first.admin('POST', '/admin/collections', { api_root: 'default', title: 'faults' });
    const base = `/default/collections/${col.id}`;
    const good = lateDefinitionBundle(6_000);
    // Bad objects spread through the request: a broken pattern, a number no double holds.
    const bad = Array.from({ length: 30 }, (_, i) => indicator({ name: `bad ${i}`, pattern: "[ipv4-addr:value = '203.0.113.9'" }));
    const objects = [...good];
    for (const [i, o] of bad.entries()) objects.splice((i * 197) % objects.length, 0, o);
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

    const second = start('second', ingestHome);
    await second.start(90_000);
    let status: any;
    for (let i = 0; i < 900; i++) {
      status = await statusOf(second, id);
      if (status.status === 'complete') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toMatchObject({
      status: 'complete',
      total_count: objects.length,
      success_count: good.length,
      failure_count: bad.length,
      pending_count: 0,
    });
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

/** Every object id a node's admin reads in a collection (manifest, page after page). */
async function heldIds(p: NodeProcess, collectionId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let next: string | undefined, page = 0; page < 1000; page++) {
    const r: any = await (
      await p.request(`/default/collections/${collectionId}/manifest/?limit=1000${next ? `&next=${encodeURIComponent(next)}` : ''}`)
    ).json();
    ids.push(...(r.objects ?? []).map((m: { id: string }) => m.id));
    if (!r.more) return ids;
    next = r.next;
  }
  return ids;
}

describe('a node killed during a federation pull', { timeout: 180_000 }, () => {
  it('catches up after a restart: every object once, the cursor never past what was stored', async () => {
    // B, in this process, serves a collection through a proxy that counts A's page requests.
    // B serves pages of 100, so the pull is many pages long without many objects to move.
    const b = await startTestNode({ NODE_ID: 'node-b', PULL_TICK_MS: '0', PAGE_SIZE_MAX: '100' });
    let pages = 0;
    let onPage: () => void = () => {};
    const proxy = http.createServer((req, res) => {
      if (req.url?.includes('/objects/')) {
        pages++;
        onPage();
      }
      const up = http.request(`${b.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const colB = (await adminJson(b, 'POST', '/admin/collections', { api_root: 'default', title: 'shared' })).id;
      const objects = Array.from({ length: 1_200 }, (_, i) => indicator({ name: `pulled ${i}`, object_marking_refs: [TLP1.green] }));
      await postObjects(b, `/default/collections/${colB}`, objects);

      const h = await home();
      const env = { NODE_ID: 'node-a', PULL_TICK_MS: '200' };
      const first = start('puller', h, env);
      await first.start(90_000);
      const jwks = (await (await first.request('/.well-known/jwks.json')).json()) as { keys: unknown[] };
      const peerAtB = await adminJson(b, 'POST', '/admin/clients', {
        name: 'node-a',
        kind: 'peer',
        grants: [{ collection_id: colB, can_read: true, can_write: false }],
      });
      await adminJson(b, 'PUT', `/admin/clients/${peerAtB.id}/peer`, { node_id: 'node-a', keys: jwks.keys });
      const colA = (await first.admin('POST', '/admin/collections', { api_root: 'default', title: 'pulled' })).id;
      const peerAtA = await first.admin('POST', '/admin/clients', { name: 'node-b', kind: 'peer' });
      await first.admin('PUT', `/admin/clients/${peerAtA.id}/peer`, {
        node_id: 'node-b',
        keys: b.deps.keyring.publicKeys(),
        base_url: proxyUrl,
      });
      // Killed as it asks for its fourth page: three are stored, or being stored.
      const killed = new Promise<void>((resolve) => {
        onPage = () => {
          if (pages === 4) void first.kill().then(() => resolve());
        };
      });
      await first.admin('POST', '/admin/sources', {
        peer_id: peerAtA.id,
        remote_api_root: 'default',
        remote_collection_id: colB,
        collection_id: colA,
        interval_seconds: 1,
      });
      await killed;
      onPage = () => {};

      const second = start('puller again', h, env);
      await second.start(90_000);
      let held: string[] = [];
      for (let i = 0; i < 120 && held.length < objects.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        held = await heldIds(second, colA);
      }
      expect(held).toHaveLength(objects.length);
      expect(new Set(held)).toEqual(new Set(objects.map((o) => o.id)));
      expect(pages).toBeGreaterThan(4);
      await second.kill();
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await b.stop();
    }
  });
});

// Disk full, on PGlite: its data directory on a small tmpfs (a mount needs root: CI runs as root;
// on PostgreSQL the server's disk is not the test's to fill).
const canMount = !process.env.TEST_DATABASE_URL && process.getuid?.() === 0;

describe.runIf(canMount)('the embedded database’s disk full', { timeout: 180_000 }, () => {
  it('refuses writes with a 503 while it is full, takes them again once there is room, and keeps what it acknowledged', async () => {
    const mnt = mkdtempSync(path.join(tmpdir(), 'vigil-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mnt]);
    try {
      const h: Home = { dataDir: mnt, port: await freePort() };
      const first = start('full', h, { SYNC_INGEST_MAX_OBJECTS: '1000' });
      await first.start(90_000);
      const col = await first.admin('POST', '/admin/collections', { api_root: 'default', title: 'full' });
      const base = `/default/collections/${col.id}`;
      // Room for a few requests only.
      const { bavail, bsize } = statfsSync(mnt);
      writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 4_000_000)));
      const acknowledged: string[] = [];
      let refused: Response | undefined;
      for (let i = 0; i < 100 && !refused; i++) {
        const objects = Array.from({ length: 200 }, () => indicator({ description: 'x'.repeat(1000) }));
        const res = await first.request(`${base}/objects/`, {
          method: 'POST',
          headers: { 'content-type': TAXII },
          body: JSON.stringify({ objects }),
          signal: AbortSignal.timeout(30_000),
        });
        if (res.status === 202) {
          expect(((await res.json()) as { success_count: number }).success_count).toBe(objects.length);
          acknowledged.push(...objects.map((o) => o.id));
        } else refused = res;
      }
      expect(refused?.status).toBe(503);
      expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused!.json()) as { description: string }).description).toMatch(/out of disk space/);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect((await first.request('/healthz')).status).toBe(200);

      rmSync(path.join(mnt, 'filler'));
      const more = indicator();
      const res = await first.request(`${base}/objects/`, {
        method: 'POST',
        headers: { 'content-type': TAXII },
        body: JSON.stringify({ objects: [more] }),
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status).toBe(202);
      acknowledged.push(more.id);

      await first.kill();
      const second = start('full again', h);
      await second.start(90_000);
      const held = await heldIds(second, col.id);
      expect(held).toHaveLength(acknowledged.length);
      expect(new Set(held)).toEqual(new Set(acknowledged));
      await second.kill();
    } finally {
      execFileSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
