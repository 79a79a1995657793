import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/database.ts';
import { startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';

// Migration 0026 drops two indexes of the objects table that every stored version paid for and
// no read needs, on a database that already holds versions: they stay served, and a stamp stays
// unique within its collection.

const indexes = async (db: Db) =>
  (
    await sql<{ name: string; def: string }>`SELECT indexname AS name, indexdef AS def FROM pg_indexes
      WHERE tablename = 'objects' AND schemaname = current_schema() ORDER BY indexname`.execute(db)
  ).rows;

describe('migration 0026 on a database holding versions', () => {
  it('leaves the primary key with the page columns, no objects_by_id nor objects_page, and every version served', async () => {
    const source = await testDatabase();
    const first = indicator({ name: 'first' });
    const other = indicator({ name: 'other' });
    let old: TestNode | undefined = await startTestNode({}, source);
    let upgraded: TestNode | undefined;
    try {
      const col = (await adminJson(old, 'POST', '/admin/collections', { api_root: 'default', title: 'before 0026' })).id as string;
      const base = `/default/collections/${col}`;
      await postObjects(old, base, [first, other]);
      // The objects table as it was before 0026.
      await sql`ALTER TABLE objects DROP CONSTRAINT objects_pkey`.execute(old.database.db);
      await sql`ALTER TABLE objects ADD PRIMARY KEY (collection_id, date_added)`.execute(old.database.db);
      await sql`CREATE INDEX objects_by_id ON objects (collection_id, id, version_at)`.execute(old.database.db);
      await sql`CREATE INDEX objects_page ON objects (collection_id, date_added) INCLUDE (tlp_level, type)`.execute(old.database.db);
      await sql`DELETE FROM schema_migrations WHERE name = '0026_objects_two_indexes_fewer.sql'`.execute(old.database.db);
      expect((await indexes(old.database.db)).map((i) => i.name)).toEqual(expect.arrayContaining(['objects_by_id', 'objects_page']));
      await old.stop();
      old = undefined;

      upgraded = await startTestNode({}, source);
      const db = upgraded.database.db;
      const after = await indexes(db);
      expect(after.map((i) => i.name)).not.toContain('objects_by_id');
      expect(after.map((i) => i.name)).not.toContain('objects_page');
      expect(after.find((i) => i.name === 'objects_pkey')?.def).toMatch(
        /UNIQUE INDEX objects_pkey .*\(collection_id, date_added\) INCLUDE \(tlp_level, type\)$/,
      );
      const later = { ...first, name: 'later', modified: '2024-06-01T00:00:00.000Z' };
      expect((await postObjects(upgraded, base, [later])).success_count).toBe(1);
      expect((await readCollection(upgraded, base)).objects).toEqual(expect.arrayContaining([later, other]));
      expect((await readCollection(upgraded, base)).objects).toHaveLength(2);
      // The primary key still refuses a second version at a stamp its collection has used.
      const stamp = await sql<{ at: string }>`SELECT date_added::text AS at FROM objects WHERE collection_id = ${col} LIMIT 1`.execute(db);
      await expect(
        sql`INSERT INTO objects (collection_id, date_added, id, type, spec_version, version, version_at, version_key, marking_refs, object, tlp_level)
          SELECT collection_id, date_added, id || 'x', type, spec_version, version, version_at, version_key, marking_refs, object, tlp_level
          FROM objects WHERE collection_id = ${col} AND date_added = ${stamp.rows[0]!.at}::timestamptz`.execute(db),
      ).rejects.toMatchObject({ code: '23505' });
    } finally {
      await old?.stop();
      await upgraded?.stop();
      await source.drop();
    }
  });
});
