import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/database.ts';
import { insertObjects } from '../../src/store/objects.ts';
import { asWriter } from '../../src/store/write-horizon.ts';
import { ADMIN_TOKEN, onPostgres, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { startReplicaPair } from '../support/replica-pair.ts';
import type { ReplicaPair } from '../support/replica-pair.ts';
import { adminJson, collectionWithClient, indicator, postObjects, storable } from '../support/stix.ts';

// DATABASE_READ_URL: TAXII reads go to hot standbys of the primary, writes stay on it. A real
// pair streams here (test/support/replica-pair.ts); the standby is made to lag by pausing its
// replay. A poller must never miss an object, whichever replica answers and however far behind.

let pair: ReplicaPair;
beforeAll(async () => {
  if (onPostgres) pair = await startReplicaPair();
});
afterAll(async () => pair?.stop());

/** A node on the pair's primary whose reads go to `reads` (URLs of the pair, in turn). */
function nodeReadingFrom(reads: string[]): Promise<TestNode> {
  return startTestNode({ PULL_TICK_MS: '0' }, { open: () => openPostgres(pair.primaryUrl, { readUrls: reads }), drop: async () => {} });
}

const ids = (page: { objects?: { id: string }[] }) => (page.objects ?? []).map((o) => o.id);

describe.runIf(onPostgres)('reads from a hot standby', () => {
  it('serves what the primary stored once the standby has replayed it, and reports its lag', async () => {
    const node = await nodeReadingFrom([pair.standbyUrl]);
    try {
      const col = await collectionWithClient(node);
      await pair.caughtUp();
      await pair.pauseReplay();
      const o = indicator();
      try {
        expect((await postObjects(node, col.base, [o])).success_count).toBe(1);
        // Stored on the primary, not yet on the standby the reads go to.
        const before = (await (await node.request(`${col.base}/objects/`, { token: col.token })).json()) as { objects?: { id: string }[] };
        expect(ids(before)).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const ready = (await (await node.request('/readyz', { token: null })).json()) as any;
        expect(ready.status).toBe('ready');
        expect(ready.replicas).toHaveLength(1);
        expect(ready.replicas[0].replica).toMatch(/^127\.0\.0\.1:\d+\/postgres$/);
        expect(ready.replicas[0].lag_seconds).toBeGreaterThan(0.5);
        const metrics = await (await node.request('/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
        expect(metrics).toMatch(/vigil_db_replica_up\{replica="127\.0\.0\.1:\d+\/postgres"\} 1/);
        expect(metrics).toMatch(/vigil_db_replica_lag_seconds\{replica="127\.0\.0\.1:\d+\/postgres"\} (0\.[5-9]|[1-9])/);
      } finally {
        await pair.resumeReplay();
      }
      await pair.caughtUp();
      const after = (await (await node.request(`${col.base}/objects/`, { token: col.token })).json()) as { objects?: { id: string }[] };
      expect(ids(after)).toEqual([o.id]);
      // Caught up, give or take what the node itself writes since: its background work writes too,
      // and while the standby has received a commit it has not replayed, the lag is the age of the
      // last one it replayed (on a loaded CI machine, once 1.2 s). So within a few seconds.
      let lag = Number.POSITIVE_INFINITY;
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && !(lag < 0.5); ) {
        lag = ((await (await node.request('/readyz', { token: null })).json()) as any).replicas[0].lag_seconds;
        if (!(lag < 0.5)) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(lag).toBeLessThan(0.5);
    } finally {
      await node.stop();
    }
  });

  it('keeps the horizon on the standby: nothing a writer in flight on the primary may precede is served', async () => {
    const node = await nodeReadingFrom([pair.standbyUrl]);
    try {
      const col = await collectionWithClient(node);
      const [a, b] = [indicator(), indicator()];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let stored!: () => void;
      const didStore = new Promise<void>((r) => (stored = r));
      const first = asWriter(node.database.db, col.collectionId, 120, async (tx) => {
        await insertObjects(tx, col.collectionId, [storable(a)]);
        stored();
        await held;
      });
      await didStore;
      await asWriter(node.database.db, col.collectionId, 120, (tx) => insertObjects(tx, col.collectionId, [storable(b)]));
      await pair.caughtUp();
      // The standby has B, committed after A took its stamps, and must not serve it before A.
      try {
        const before = (await (await node.request(`${col.base}/objects/`, { token: col.token })).json()) as { objects?: { id: string }[] };
        expect(ids(before)).toEqual([]);
      } finally {
        release();
        await first;
      }
      await pair.caughtUp();
      const after = (await (await node.request(`${col.base}/objects/`, { token: col.token })).json()) as { objects?: { id: string }[] };
      expect(ids(after)).toEqual([a.id, b.id]);
    } finally {
      await node.stop();
    }
  });

  it('records a page with AMBER content read from the standby in the audit, on the primary', async () => {
    const node = await nodeReadingFrom([pair.standbyUrl]);
    try {
      const col = await collectionWithClient(node);
      const o = indicator();
      expect((await postObjects(node, col.base, [o])).success_count).toBe(1);
      await pair.caughtUp();
      const res = await node.request(`${col.base}/objects/`, { token: col.token });
      expect(res.status).toBe(200);
      expect(ids((await res.json()) as { objects?: { id: string }[] })).toEqual([o.id]);
      const audit = await adminJson(node, 'GET', `/admin/collections/${col.collectionId}/objects/${o.id}/recipients`);
      expect(audit.deliveries.map((d: { recipient: string; max_level: string }) => [d.recipient, d.max_level])).toEqual([
        [`client:${col.clientId}`, 'AMBER'],
      ]);
    } finally {
      await node.stop();
    }
  });

  it('lets pollers see every object exactly once while writers post, their reads taking turns on a lagging standby and the primary', async () => {
    // The primary is also given as a replica: one client's requests land on servers that disagree.
    const node = await nodeReadingFrom([pair.standbyUrl, pair.primaryUrl]);
    try {
      const col = await collectionWithClient(node);
      // Rights are read where the page is: the client and its grant must have reached the standby.
      await pair.caughtUp();
      const expected = new Set<string>();
      let writing = true;
      const writer = async () => {
        for (let i = 0; i < 10; i++) {
          const batch = Array.from({ length: 1 + ((i * 7) % 20) }, () => indicator());
          for (const o of batch) expected.add(o.id);
          expect((await postObjects(node, col.base, batch)).success_count).toBe(batch.length);
        }
      };
      // The standby stops and goes on replaying while the writers write.
      const lagging = (async () => {
        while (writing) {
          await pair.pauseReplay();
          await new Promise((resolve) => setTimeout(resolve, 150));
          await pair.resumeReplay();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const poller = async () => {
        const seen: string[] = [];
        let after: string | undefined;
        // One poll: page after page with `next` while `more`; then the next poll from the last date_added.
        const pollOnce = async () => {
          let next: string | undefined;
          do {
            const q = next ? `limit=7&next=${encodeURIComponent(next)}` : `limit=7${after ? `&added_after=${after}` : ''}`;
            const res = await node.request(`${col.base}/manifest/?${q}`, { token: col.token });
            expect(res.status, await res.clone().text()).toBe(200);
            const body = (await res.json()) as { objects?: { id: string; date_added: string }[]; more?: boolean; next?: string };
            for (const rec of body.objects ?? []) {
              if (after) expect(rec.date_added > after).toBe(true);
              seen.push(rec.id);
              after = rec.date_added;
            }
            next = body.more ? body.next : undefined;
          } while (next);
        };
        while (writing) await pollOnce();
        await pair.caughtUp();
        await pollOnce();
        await pollOnce();
        return seen;
      };
      const pollers = Array.from({ length: 3 }, poller);
      await Promise.all(Array.from({ length: 3 }, writer));
      writing = false;
      await lagging;
      await pair.resumeReplay();
      for (const seen of await Promise.all(pollers)) {
        expect(new Set(seen).size).toBe(seen.length);
        expect(new Set(seen)).toEqual(expected);
      }
    } finally {
      await pair.resumeReplay().catch(() => {});
      await node.stop();
    }
  });
});
