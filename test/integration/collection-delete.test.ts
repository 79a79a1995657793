import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects, storable } from '../support/stix.ts';
import { insertObjects } from '../../src/store/objects.ts';

// No key ties a version or an id's level to its collection (migration 0024): a writer locks the
// collection's row once, and a trigger takes its contents with it when it goes.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

const count = async (table: 'objects' | 'id_levels', collectionId: string) =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE collection_id = ${collectionId}`.execute(
      node.database.db,
    )
  ).rows[0]!.n;

describe('a collection and what it holds', () => {
  it('takes its versions and their levels with it when deleted', async () => {
    const col = await collectionWithClient(node);
    const v1 = indicator({ modified: '2026-01-01T00:00:00.000Z' });
    await postObjects(node, col.base, [v1, { ...v1, modified: '2026-02-01T00:00:00.000Z' }, indicator()]);
    expect(await count('objects', col.collectionId)).toBe(3);
    expect(await count('id_levels', col.collectionId)).toBe(2);
    await adminJson(node, 'DELETE', `/admin/collections/${col.collectionId}`);
    expect(await count('objects', col.collectionId)).toBe(0);
    expect(await count('id_levels', col.collectionId)).toBe(0);
  });

  it('refuses a writer once it is gone, storing nothing', async () => {
    const col = await collectionWithClient(node);
    await adminJson(node, 'DELETE', `/admin/collections/${col.collectionId}`);
    // Past asWriter's own check (its announcement names the collection): the store itself refuses.
    const write = node.database.db.transaction().execute((tx) => insertObjects(tx, col.collectionId, [storable(indicator())]));
    await expect(write).rejects.toThrow(/does not exist/);
    expect(await count('objects', col.collectionId)).toBe(0);
    expect(await count('id_levels', col.collectionId)).toBe(0);
  });
});
