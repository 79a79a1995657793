import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, storable } from '../support/stix.ts';
import { insertObjects, selectManifest } from '../../src/store/objects.ts';

// TAXII pollers page with added_after = the last date_added they saw. If a transaction took its
// stamp, then committed after a later-stamped one, a poller that read the later row in between
// would skip the earlier one forever. These tests run writers and pollers at once.

let node: TestNode;
let collectionId: string;
beforeAll(async () => {
  node = await startTestNode();
  ({ collectionId } = await collectionWithClient(node));
});
afterAll(async () => node?.stop());

const asNew = storable;

describe('a poller never misses a row committed late', () => {
  it('makes a writer that stamps while another is uncommitted wait, and stamp after it', async () => {
    const a = indicator();
    const b = indicator();
    let releaseA!: () => void;
    const aHeld = new Promise<void>((r) => (releaseA = r));
    let aInserted!: () => void;
    const aDidInsert = new Promise<void>((r) => (aInserted = r));
    const txA = node.database.db.transaction().execute(async (tx) => {
      await insertObjects(tx, collectionId, [asNew(a)]);
      aInserted();
      await aHeld;
    });
    await aDidInsert;
    let bDone = false;
    const txB = node.database.db
      .transaction()
      .execute(async (tx) => insertObjects(tx, collectionId, [asNew(b)]))
      .then(() => (bDone = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(bDone).toBe(false);
    releaseA();
    await Promise.all([txA, txB]);
    const rows = await selectManifest(node.database.db, collectionId, { ids: [a.id, b.id], audience: { kind: 'admin' } }, 10);
    expect(rows.map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it('lets concurrent pollers see every object exactly once while writers post over HTTP', async () => {
    const { base } = await collectionWithClient(node);
    const writers = 4;
    const postsPerWriter = 12;
    const expected = new Set<string>();
    let writing = true;

    const writer = async () => {
      for (let i = 0; i < postsPerWriter; i++) {
        const batch = Array.from({ length: 1 + ((i * 7) % 25) }, () => indicator());
        for (const o of batch) expected.add(o.id);
        const res = await node.request(`${base}/objects/`, {
          method: 'POST',
          headers: { 'content-type': 'application/taxii+json;version=2.1' },
          body: JSON.stringify({ objects: batch }),
        });
        expect(res.status).toBe(202);
        await res.arrayBuffer();
      }
    };

    const poller = async () => {
      const seen: string[] = [];
      let after: string | undefined;
      const pollOnce = async () => {
        const q = `limit=7${after ? `&added_after=${after}` : ''}`;
        const res = await node.request(`${base}/manifest/?${q}`);
        const body: any = await res.json();
        for (const rec of body.objects ?? []) {
          if (after) expect(rec.date_added > after).toBe(true);
          seen.push(rec.id);
          after = rec.date_added;
        }
        return body.more === true;
      };
      while (writing) await pollOnce();
      while (await pollOnce()) {}
      return seen;
    };

    const pollers = Array.from({ length: 3 }, poller);
    await Promise.all(Array.from({ length: writers }, writer));
    writing = false;
    const results = await Promise.all(pollers);
    for (const seen of results) {
      expect(new Set(seen).size).toBe(seen.length);
      expect(new Set(seen)).toEqual(expected);
    }
  });
});
