import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { TAXII, startTestNode, testDatabase } from '../support/node.ts';
import { collectionWithClient, indicator } from '../support/stix.ts';

// A queued request lives in the database, not in a process: a node that stops hands the rest
// back, and the next node on the same database (a restart or another replica) finishes it.

describe('a large request outlives the node that took it', () => {
  it('is finished by the next node, with every object stored once', async () => {
    const db = await testDatabase();
    const env = { SYNC_INGEST_MAX_OBJECTS: '10' };
    const first = await startTestNode(env, db);
    const { base } = await collectionWithClient(first);
    const objects = Array.from({ length: 3000 }, () => indicator());
    const res = await first.request(`${base}/objects/`, {
      method: 'POST',
      headers: { 'content-type': TAXII },
      body: JSON.stringify({ objects }),
    });
    const { id } = (await res.json()) as { id: string };
    await first.stop(); // stops between chunks, while work is left
    const look = await db.open();
    const left = await look.db
      .selectFrom('status_details')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status_id', '=', id)
      .where('outcome', '=', 'pending')
      .executeTakeFirstOrThrow();
    const job = await look.db
      .selectFrom('ingest_jobs')
      .select(['status_id'])
      .where('status_id', '=', id)
      .where(sql<boolean>`lease_until < now()`)
      .execute();
    await look.close();
    expect(Number(left.n)).toBeGreaterThan(0);
    expect(job).toHaveLength(1); // handed back: its lease already ran out
    const second = await startTestNode(env, db);
    try {
      let status: any;
      for (let i = 0; i < 300; i++) {
        status = await (await second.request(`/default/status/${id}/`)).json();
        if (status.status === 'complete') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toMatchObject({ status: 'complete', total_count: 3000, success_count: 3000, pending_count: 0 });
      const manifest: any = await (await second.request(`${base}/manifest/?limit=1000`)).json();
      expect(manifest.more).toBe(true);
      const rows = await second.database.db.selectFrom('objects').select('id').where('type', '=', 'indicator').execute();
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(objects.map((o) => o.id)));
    } finally {
      await second.stop();
      await db.drop();
    }
  });
});
