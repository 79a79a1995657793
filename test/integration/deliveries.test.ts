import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDelivery } from '../../src/store/deliveries.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient } from '../support/stix.ts';

// The audit's rows are inserted together when pages are served at once (store/deliveries.ts).

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

const row = (collectionId: string, objectCount: number) => ({
  recipient: 'client:audit-batch',
  collection_id: collectionId,
  first_date_added: '2026-01-01T00:00:00.000000Z',
  last_date_added: '2026-01-01T00:00:01.000000Z',
  object_count: objectCount,
  max_level: 3,
});

const recorded = async (collectionId: string) =>
  (
    await sql<{
      object_count: number;
    }>`SELECT object_count FROM deliveries WHERE collection_id = ${collectionId} ORDER BY object_count`.execute(node.database.db)
  ).rows.map((r) => r.object_count);

describe('pages recorded at once', () => {
  it('are each recorded, every caller waiting for its own row', async () => {
    const col = await collectionWithClient(node);
    await Promise.all(Array.from({ length: 9 }, (_, i) => insertDelivery(node.database.db, row(col.collectionId, i + 1))));
    expect(await recorded(col.collectionId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('fail alone: a row that cannot be stored fails its own page, not the others inserted with it', async () => {
    const col = await collectionWithClient(node);
    const results = await Promise.allSettled([
      insertDelivery(node.database.db, row(col.collectionId, 1)),
      insertDelivery(node.database.db, row(col.collectionId, 2)),
      // No such collection: its key refuses it.
      insertDelivery(node.database.db, row(randomUUID(), 3)),
      insertDelivery(node.database.db, row(col.collectionId, 4)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await recorded(col.collectionId)).toEqual([1, 2, 4]);
  });
});
