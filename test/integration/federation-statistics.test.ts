import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshStatisticsIfStale } from '../../src/store/statistics.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';

// A catch-up's backlog lands faster than autovacuum analyzes; the puller refreshes the planner's
// statistics as the objects table doubles, and only then.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ NODE_ID: 'node-s', PULL_TICK_MS: '0' });
});
afterAll(async () => {
  await node?.stop();
});

const reltuples = async () =>
  Number(
    (await sql<{ n: number }>`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'objects'::regclass`.execute(node.database.db))
      .rows[0]!.n,
  );

describe('refreshStatisticsIfStale', () => {
  it('analyzes the objects table once it holds more than twice the rows its statistics know of', async () => {
    const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'stats' })).id;
    expect(await refreshStatisticsIfStale(node.database.db, 1000)).toBe(false);
    await postObjects(
      node,
      `/default/collections/${col}`,
      Array.from({ length: 20 }, () => indicator()),
    );
    // The row counts reach the statistics views after the commit: PostgreSQL 15 flushes a
    // backend's pending counts at most once a second, and an idle one's within 10 s.
    let analyzed = false;
    for (let i = 0; i < 250 && !analyzed; i++) {
      analyzed = await refreshStatisticsIfStale(node.database.db, 10);
      if (!analyzed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(analyzed).toBe(true);
    expect(await reltuples()).toBeGreaterThanOrEqual(20);
    expect(await refreshStatisticsIfStale(node.database.db, 10)).toBe(false);
  });
});
