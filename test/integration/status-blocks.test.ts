import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../src/deps.ts';
import { getStatus } from '../../src/services/status.ts';
import { noteOnDetails } from '../../src/store/statuses.ts';
import { TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator } from '../support/stix.ts';

// A poll renders again only the blocks of a status that changed (services/status.ts): what it
// answers must be, at every poll, the resource getStatus builds from every row.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SYNC_INGEST_MAX_OBJECTS: '10' });
});
afterAll(async () => {
  await node.stop();
});

/** The status as getStatus builds it, in one read of every row. */
async function reference(id: string): Promise<string> {
  const deps = { database: node.database } as unknown as Deps;
  return JSON.stringify(await getStatus(deps, { kind: 'admin' }, 'default', id));
}

describe('a polled status, rendered block by block', () => {
  it('answers what a full rendering answers, while the job settles it and after a note', async () => {
    const { collectionId, base } = await collectionWithClient(node);
    // 8,500 objects over nine blocks, and five chunks of the job: more than it prepares while the
    // request is recorded, so that polls see it settle. Every seventh is invalid (a failure), one
    // a duplicate.
    const objects: unknown[] = Array.from({ length: 8500 }, (_, i) => (i % 7 === 3 ? { type: 'indicator', id: 'bad' } : indicator()));
    objects[2400] = objects[5];
    const res = await node.request(`${base}/objects/`, {
      method: 'POST',
      headers: { 'content-type': TAXII },
      body: JSON.stringify({ objects }),
    });
    const { id } = (await res.json()) as { id: string };
    let polls = 0;
    for (;;) {
      const text = await (await node.request(`/default/status/${id}/`)).text();
      const status = JSON.parse(text);
      polls++;
      expect(status.success_count + status.failure_count + status.pending_count).toBe(8500);
      expect(status.successes?.length ?? 0).toBe(status.success_count);
      expect(status.pendings?.length ?? 0).toBe(status.pending_count);
      if (status.status === 'complete') {
        expect(text).toBe(await reference(id));
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(polls).toBeGreaterThan(1);
    // A later note on some details (as a marking definition's release writes) shows at the next poll.
    const ids = [(objects[1] as { id: string }).id, (objects[2200] as { id: string }).id];
    await noteOnDetails(node.database.db, collectionId, ids, 'added', 'noted by the test');
    const text = await (await node.request(`/default/status/${id}/`)).text();
    expect(text).toMatch(/added; [\d:TZ.-]+ noted by the test/);
    expect(text).toBe(await reference(id));
  });
});
