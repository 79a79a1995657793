import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flakyReceiver, subscribe } from '../support/alerts.ts';
import { onPostgres, startTestNode, testDatabase } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';

// Replicas: several nodes on one database. The matcher runs on one at a time (an advisory
// lock), so a match makes one alert; the senders share due alerts by lease, so an alert is
// sent once unless a receiver loses an answer. PGlite is one process's database: PostgreSQL only.

const ENV = {
  ALERT_WEBHOOK_ALLOW_PRIVATE: 'true',
  ALERT_WEBHOOK_ALLOW_HTTP: 'true',
  ALERT_TICK_MS: '20',
  ALERT_RETRY_BASE_SECONDS: '0.05',
  ALERT_RETRY_MAX_SECONDS: '0.2',
};

describe.skipIf(!onPostgres)('two replicas on one database (PostgreSQL only: a PGlite directory is opened by one process)', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let a: TestNode;
  let b: TestNode;
  beforeAll(async () => {
    db = await testDatabase();
    a = await startTestNode(ENV, db);
    b = await startTestNode(ENV, db);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('make exactly one alert per match, and send each once', async () => {
    const c = await collectionWithClient(a);
    const r = flakyReceiver();
    await r.start();
    try {
      const sub = await subscribe(a, c.token, {
        name: 'hook',
        collections: [c.collectionId],
        filter: { types: ['indicator'] },
        webhook_url: r.url,
      });
      const posted: string[] = [];
      // Ingests on both replicas at once, while both tick and drain concurrently.
      await Promise.all(
        [a, b].map(async (node) => {
          for (let i = 0; i < 10; i++) {
            const x = indicator();
            posted.push(x.id);
            await postObjects(node, c.base, [x], c.token);
            void node.deps.alerts.drain();
          }
        }),
      );
      await Promise.all([a.deps.alerts.drain(), b.deps.alerts.drain()]);
      await r.waitForKeys(20);
      await Promise.all([a.deps.alerts.drain(), b.deps.alerts.drain()]);
      await new Promise((res) => setTimeout(res, 200));

      const rows = await sql<{
        id: string;
        refs: string[];
      }>`SELECT id::text, object_refs AS refs FROM alerts WHERE subscription_id = ${sub.id}`.execute(a.database.db);
      expect(rows.rows).toHaveLength(20);
      // Every stored version is in exactly one alert.
      const refs = rows.rows.flatMap((x) => x.refs);
      expect(new Set(refs).size).toBe(refs.length);
      expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM alert_outbox`.execute(a.database.db)).rows[0]!.n).toBe(0);
      // Each alert reached the receiver once, with every indicator.
      expect(r.keys()).toEqual(new Set(rows.rows.map((x) => x.id)));
      expect(r.requests).toHaveLength(20);
      expect(r.received.flatMap((x) => x.json.objects.map((o: { id: string }) => o.id)).sort()).toEqual([...posted].sort());
    } finally {
      await r.stop();
    }
  });
});
