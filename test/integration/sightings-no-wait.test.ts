import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimLost, claimFamilies, settleFamilies } from '../../src/store/sighting-work.ts';
import { insertReports } from '../../src/store/sightings.ts';
import { onPostgres, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';

// docs/sightings.md, "When": a report never waits for an aggregation batch under way for its
// family. The batch is held open by another session's lock on sighting_aggregates, which its
// work transaction writes and a report does not; reports of the family are taken meanwhile, and
// published by the next run. PGlite is one session, where everything waits its turn: that one on
// PostgreSQL only; the claims themselves on both.

/** How long a report may take before the test calls it blocked: far beyond any report's time, far below the lock's. */
const BLOCKED_AFTER_MS = 15_000;

describe.skipIf(!onPostgres)('a report during an aggregation batch of its family (PostgreSQL only)', () => {
  let node: TestNode;
  let base: string;
  const reporters: string[] = [];
  const theIndicator = indicator({ pattern: "[ipv4-addr:value = '198.51.100.77']" });

  beforeAll(async () => {
    node = await startTestNode({ NODE_COUNTRY: 'fr', SIGHTINGS_TICK_MS: '0', SIGHTINGS_MIN_ORGS: '2', LOG_LEVEL: 'warn' });
    const col = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `no wait ${randomUUID()}` });
    base = `/default/collections/${col.id}`;
    expect((await postObjects(node, base, [theIndicator])).success_count).toBe(1);
    for (const org of ['A', 'B', 'C', 'D']) {
      const c = await adminJson(node, 'POST', '/admin/clients', {
        name: `hospital-${org}-${randomUUID().slice(0, 6)}`,
        clearance: 'AMBER',
        organisation: `Hospital ${org}`,
        grants: [{ collection_id: col.id, can_read: true, can_write: false }],
      });
      reporters.push(c.token);
    }
  });
  afterAll(async () => node?.stop());

  const report = (token: string, minute: number) => {
    const seen = `2025-05-01T10:${String(minute).padStart(2, '0')}:00Z`;
    return node.request('/sightings', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ indicator: theIndicator.id, count: 1, first_seen: seen, last_seen: seen }),
    });
  };

  /** Sessions waiting for a lock on sighting_aggregates (this test's schema). */
  const waitingOnAggregates = async () =>
    (
      await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks
        WHERE NOT granted AND relation = 'sighting_aggregates'::regclass`.execute(node.database.db)
    ).rows[0]!.n;

  it('records the report at once, and the next run publishes it', async () => {
    for (const [i, token] of reporters.slice(0, 2).entries()) expect((await report(token, i)).status).toBe(201);

    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const holder = node.database.db.transaction().execute(async (tx) => {
      await sql`LOCK TABLE sighting_aggregates IN SHARE ROW EXCLUSIVE MODE`.execute(tx);
      locked();
      await released;
    });
    let batch: Promise<void> | undefined;
    try {
      await holding;
      batch = node.deps.sightings.drain();
      for (let i = 0; (await waitingOnAggregates()) === 0; i++) {
        if (i > 300) throw new Error('the aggregation batch never reached sighting_aggregates');
        await new Promise((r) => setTimeout(r, 50));
      }

      // Two more organisations report the family while its batch waits: two, so that their
      // difference alone is enough for the privacy rule.
      const late = Promise.all(reporters.slice(2).map((token, i) => report(token, 30 + i)));
      const outcome = await Promise.race([
        late.then((rs) => rs.map((r) => r.status)),
        new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), BLOCKED_AFTER_MS).unref()),
      ]);
      expect(outcome, 'the reports waited for the batch').toEqual([201, 201]);
      expect(await waitingOnAggregates(), 'the batch is still under way').toBeGreaterThan(0);
    } finally {
      release();
      await holder;
      await batch;
    }

    await node.deps.sightings.drain();
    const day = (await readCollection(node, base)).objects.filter(
      (o) => o.type === 'sighting' && (o.x_vigil_bucket as { size: string }).size === 'day',
    );
    expect(day.map((o) => [o.count, o.x_vigil_organisations])).toEqual([[4, 4]]);
    const unpublished = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sighting_reports WHERE published IS NULL`.execute(
      node.database.db,
    );
    expect(unpublished.rows[0]!.n).toBe(0);
  });
});

describe('claims on sighting families', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ SIGHTINGS_TICK_MS: '0', LOG_LEVEL: 'warn' });
  });
  afterAll(async () => node?.stop());

  it('fence a claim whose lease ran out, and leave a family a report touched due', async () => {
    const db = node.database.db;
    const indicatorId = `indicator--${randomUUID()}`;
    const reportIt = () =>
      insertReports(db, [
        {
          client_id: randomUUID(),
          organisation: null,
          org_key: `client:${randomUUID()}`,
          indicator_id: indicatorId,
          collection_id: randomUUID(),
          count: 1,
          first_seen: '2025-05-02T10:00:00Z',
          last_seen: '2025-05-02T10:00:00Z',
          shareable: false,
          via: 'api',
        },
      ]);
    const work = async () =>
      (await sql<{ claim: string | null }>`SELECT claim::text AS claim FROM sighting_work WHERE indicator_id = ${indicatorId}`.execute(db))
        .rows;
    await reportIt();

    const first = randomUUID();
    const [family] = await claimFamilies(db, first, 50, 60);
    expect(family).toEqual({ indicator_id: indicatorId, day_start: '2025-05-02T00:00:00.000000Z' });
    expect(await claimFamilies(db, randomUUID(), 50, 60), 'claimed, its lease running').toEqual([]);

    // The lease runs out (its replica stalled): another claims the family, and the first may no longer settle it.
    await sql`UPDATE sighting_work SET lease_until = clock_timestamp() - interval '1 second'`.execute(db);
    const second = randomUUID();
    expect(await claimFamilies(db, second, 50, 60)).toEqual([family]);
    await expect(db.transaction().execute((tx) => settleFamilies(tx, first, [{ ...family!, due: null }]))).rejects.toBeInstanceOf(
      ClaimLost,
    );
    expect(await work()).toEqual([{ claim: second }]);

    // A report during the second's run: the family stays due, unclaimed, for the next.
    await reportIt();
    expect(await db.transaction().execute((tx) => settleFamilies(tx, second, [{ ...family!, due: null }]))).toBe(1);
    expect(await work()).toEqual([{ claim: null }]);
    const third = randomUUID();
    expect(await claimFamilies(db, third, 50, 60)).toEqual([family]);
    expect(await db.transaction().execute((tx) => settleFamilies(tx, third, [{ ...family!, due: null }]))).toBe(0);
    expect(await work()).toEqual([]);
  });
});
