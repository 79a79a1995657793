import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/database.ts';
import type { Database } from '../../src/store/database.ts';
import { onPostgres, testSchema } from '../support/node.ts';

// The node's connections to PostgreSQL outlive a quiet spell: SIEMs polling on the minute come
// back to a pool as large as their last burst made it, not to one they must wait for while
// PostgreSQL starts backends and plans the hot statements again (src/store/database.ts).

describe.runIf(onPostgres)('the connection pool', () => {
  const application = `vigil_pool_${process.pid}`;
  let schema: Awaited<ReturnType<typeof testSchema>>;
  let database: Database;
  let admin: pg.Client;

  beforeAll(async () => {
    schema = await testSchema(process.env.TEST_DATABASE_URL!);
    const url = new URL(schema.url);
    url.searchParams.set('application_name', application);
    database = await openPostgres(url.toString());
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await database?.close();
    await schema?.drop();
  });

  const sessions = async () =>
    (
      await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [application])
    ).rows.map((r) => r.pid);

  it('keeps the connections a burst opened through a quiet spell longer than pg-pool’s 10 s', async () => {
    // Three statements at once: the pool opens three sessions.
    await Promise.all([1, 2, 3].map(() => sql`SELECT pg_sleep(0.2)`.execute(database.db)));
    const opened = await sessions();
    expect(opened).toHaveLength(3);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(await sessions()).toEqual(opened);
    // And they serve the next burst.
    await Promise.all([1, 2, 3].map(() => sql`SELECT pg_sleep(0.2)`.execute(database.db)));
    expect(await sessions()).toEqual(opened);
  }, 30_000);
});
