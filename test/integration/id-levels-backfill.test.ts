import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';

// A writer looks up no held version of an id whose id_levels row it has just made: every id with
// a version has its row. Versions stored before the rows existed (migration 0002) get theirs from
// migration 0025; without it, a later version of such an id would be stored as a second latest.

describe('versions held without their id’s level row, from before migration 0002', () => {
  it('get it from migration 0025, and a later version still replaces them as the latest', async () => {
    const source = await testDatabase();
    const first = indicator({ name: 'first' });
    let old: TestNode | undefined = await startTestNode({}, source);
    let upgraded: TestNode | undefined;
    try {
      const col = (await adminJson(old, 'POST', '/admin/collections', { api_root: 'default', title: 'before 0002' })).id as string;
      const base = `/default/collections/${col}`;
      await postObjects(old, base, [first]);
      const db = old.database.db;
      await sql`DELETE FROM id_levels WHERE collection_id = ${col}`.execute(db);
      await sql`DELETE FROM schema_migrations WHERE name = '0025_every_held_id_has_its_level.sql'`.execute(db);
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({}, source);
      const levels = await sql<{ id: string; tlp_level: number }>`SELECT id, tlp_level FROM id_levels WHERE collection_id = ${col}`.execute(
        upgraded.database.db,
      );
      expect(levels.rows).toEqual([{ id: first.id, tlp_level: expect.any(Number) }]);
      const later = { ...first, name: 'later', modified: '2024-06-01T00:00:00.000Z' };
      expect((await postObjects(upgraded, base, [later])).success_count).toBe(1);
      expect((await readCollection(upgraded, base)).objects).toEqual([later]);
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await source.drop();
    }
  });
});
