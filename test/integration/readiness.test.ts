import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationFiles } from '../../src/store/migrate.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';

// GET /readyz: ready once every migration of this release is applied. A database that cannot be
// reached says so (test/integration/database-outage.test.ts), never "migrations pending".

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

const readyz = async () => {
  const res = await node.request('/readyz', { token: null, headers: { accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
};

describe('/readyz', () => {
  it('is ready on a migrated database', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('names the migrations the database lacks, and is ready again once they are applied', async () => {
    const last = (await migrationFiles()).at(-1)!;
    const { applied_at } = (
      await sql<{ applied_at: Date }>`SELECT applied_at FROM schema_migrations WHERE name = ${last}`.execute(node.database.db)
    ).rows[0]!;
    await sql`DELETE FROM schema_migrations WHERE name = ${last}`.execute(node.database.db);
    try {
      expect(await readyz()).toEqual({ status: 503, body: { status: 'migrations pending', pending: [last] } });
    } finally {
      await sql`INSERT INTO schema_migrations (name, applied_at) VALUES (${last}, ${applied_at})`.execute(node.database.db);
    }
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('names every migration on a database that has none', async () => {
    await sql`ALTER TABLE schema_migrations RENAME TO schema_migrations_aside`.execute(node.database.db);
    try {
      expect(await readyz()).toEqual({ status: 503, body: { status: 'migrations pending', pending: await migrationFiles() } });
    } finally {
      await sql`ALTER TABLE schema_migrations_aside RENAME TO schema_migrations`.execute(node.database.db);
    }
    expect((await readyz()).status).toBe(200);
  });
});
