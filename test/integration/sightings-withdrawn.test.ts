import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteObjectVersions } from '../../src/store/objects.ts';
import { withdrawAggregates } from '../../src/store/sightings.ts';
import { ALERT_TEST_ENV, flakyReceiver, subscribe } from '../support/alerts.ts';
import { onPostgres, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';
import { TLP2 } from '../fixtures/tlp-ids.ts';

// docs/sightings.md, "Withdrawn indicators": an indicator deleted from a collection takes its
// aggregate sightings out of that collection (served no more, counted no more, none published
// there again); a revoked indicator's aggregates stay as history but count in no trend and fire
// no trend alert, and the node publishes no new version of them.

const HOUR = 3_600_000;
/** Reports' last_seen: a minute ago, but never before the hour the test runs in (the bucket of every report). */
const seen = new Date(Math.max(Date.now() - 60_000, Math.floor(Date.now() / HOUR) * HOUR)).toISOString();
const hourOf = (t: string) => `${t.slice(0, 13)}:00:00.000000Z`;

const receiver = flakyReceiver();
let node: TestNode;
const x = { id: '', base: '' };
const y = { id: '', base: '' };
/** Three organisations reading both collections; a reader of each; a client that may write X. */
const reporters: string[] = [];
let readerX: string;
let readerY: string;
let writerX: string;

async function client(grants: { collection_id: string; can_read: boolean; can_write: boolean }[], organisation?: string) {
  const c = await adminJson(node, 'POST', '/admin/clients', {
    name: `c-${randomUUID().slice(0, 8)}`,
    clearance: 'AMBER',
    grants,
    ...(organisation ? { organisation } : {}),
  });
  return c.token as string;
}

const read = (id: string) => ({ collection_id: id, can_read: true, can_write: false });

async function reportAll(indicatorId: string, aggregate = true): Promise<void> {
  for (const token of reporters) {
    const res = await node.request('/sightings', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ indicator: indicatorId, count: 2, last_seen: seen }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  if (!aggregate) return;
  await node.deps.sightings.drain();
  await node.deps.alerts.drain();
}

/** The aggregate sightings of an indicator a collection serves (latest versions). */
const aggregatesIn = async (c: { base: string }, indicatorId: string) =>
  (await readCollection(node, c.base)).objects.filter((o) => o.type === 'sighting' && o.sighting_of_ref === indicatorId);

async function trending(token: string): Promise<Map<string, number>> {
  const res = await node.request('/trends?window=day', { token, headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  return new Map(((await res.json()) as any).items.map((i: any) => [i.id, i.sightings]));
}

async function inBoth(over: Partial<StixObject> = {}): Promise<StixObject> {
  const i = indicator({ object_marking_refs: [TLP2.green], pattern: `[domain-name:value = '${randomUUID()}.example.org']`, ...over });
  for (const c of [x, y]) expect((await postObjects(node, c.base, [i])).success_count).toBe(1);
  return i;
}

const revoked = (i: StixObject): StixObject => ({ ...i, modified: '2024-06-01T00:00:00.000Z', revoked: true });

beforeAll(async () => {
  await receiver.start();
  node = await startTestNode({ ...ALERT_TEST_ENV, NODE_COUNTRY: 'fr', SIGHTINGS_TICK_MS: '0' });
  for (const c of [x, y]) {
    c.id = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `withdrawn ${randomUUID()}` })).id;
    c.base = `/default/collections/${c.id}`;
  }
  for (const n of ['A', 'B', 'C']) reporters.push(await client([read(x.id), read(y.id)], `Hospital ${n} ${randomUUID().slice(0, 6)}`));
  readerX = await client([read(x.id)]);
  readerY = await client([read(y.id)]);
  writerX = await client([{ collection_id: x.id, can_read: true, can_write: true }]);
}, 30_000);

afterAll(async () => {
  await node?.stop();
  await receiver.stop();
});

describe('an indicator deleted from a collection', () => {
  it('takes its aggregates out of that collection and its trends, and none is published there again', async () => {
    const i = await inBoth();
    await reportAll(i.id);
    expect(await aggregatesIn(x, i.id)).toHaveLength(2); // its hour and its day
    expect((await trending(readerX)).get(i.id)).toBe(6);

    const res = await node.request(`${x.base}/objects/${i.id}/`, { method: 'DELETE', token: writerX });
    expect(res.status).toBe(200);
    expect(await aggregatesIn(x, i.id)).toEqual([]);
    for (const a of await aggregatesIn(y, i.id)) {
      expect((await node.request(`${x.base}/objects/${a.id}/`)).status).toBe(404);
    }
    expect((await trending(readerX)).has(i.id)).toBe(false);
    expect((await trending(readerY)).get(i.id)).toBe(6);

    // Later reports are published where the indicator still is, and only there.
    await reportAll(i.id);
    expect(await aggregatesIn(x, i.id)).toEqual([]);
    expect((await aggregatesIn(y, i.id)).map((a) => a.count)).toEqual([12, 12]);
    expect((await trending(readerY)).get(i.id)).toBe(12);
    expect((await trending(readerX)).has(i.id)).toBe(false);
  });

  it('keeps its aggregates while a version of it stays', async () => {
    const i = await inBoth();
    const v2 = { ...i, modified: '2024-03-01T00:00:00.000Z', name: 'renamed' };
    expect((await postObjects(node, x.base, [v2])).success_count).toBe(1);
    await reportAll(i.id);
    const res = await node.request(`${x.base}/objects/${i.id}/?match[version]=first`, { method: 'DELETE', token: writerX });
    expect(res.status).toBe(200);
    expect(await aggregatesIn(x, i.id)).toHaveLength(2);
    expect((await trending(readerX)).get(i.id)).toBe(6);
  });
});

describe.skipIf(!onPostgres)('an indicator deleted while the aggregator runs (PostgreSQL only: two sessions at once)', () => {
  it('gets no aggregate in the collection it is gone from, though the run read it there first', async () => {
    const i = await inBoth();
    await reportAll(i.id, false);
    // A TAXII DELETE of it from X under way: its transaction holds the indicator, as deleteObject's does.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let holding!: (xid: string) => void;
    const held = new Promise<string>((r) => (holding = r));
    const deleting = node.database.db.transaction().execute(async (tx) => {
      await deleteObjectVersions(tx, x.id, { ids: [i.id], versions: [{ kind: 'all' }], anySpecVersion: true, audience: { kind: 'admin' } });
      await withdrawAggregates(tx, x.id, i.id);
      holding((await sql<{ xid: string }>`SELECT txid_current()::text AS xid`.execute(tx)).rows[0]!.xid);
      await released;
    });
    const xid = await held;
    // The run reads the collections holding it (X too: the delete has not committed), then waits
    // for the delete's transaction, which holds the indicator's row; or, without that, publishes into X at once.
    const run = node.deps.sightings.drain();
    let ran = false;
    void run.then(() => (ran = true));
    const waiters = async () =>
      (
        await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks
          WHERE NOT granted AND locktype = 'transactionid' AND transactionid::text = ${xid}`.execute(node.database.db)
      ).rows[0]!.n;
    const until = Date.now() + 10_000;
    while (!ran && (await waiters()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    release();
    await deleting;
    await run;
    expect(await aggregatesIn(x, i.id)).toEqual([]);
    expect((await aggregatesIn(y, i.id)).map((a) => a.count)).toEqual([6, 6]);
  });
});

describe('a revoked indicator', () => {
  it('counts in no trend, and gets no new aggregate version; what was published stays served', async () => {
    const i = await inBoth();
    const control = await inBoth();
    await reportAll(i.id);
    await reportAll(control.id);
    const before = await aggregatesIn(y, i.id);
    expect(before).toHaveLength(2);

    for (const c of [x, y]) expect((await postObjects(node, c.base, [revoked(i)])).success_count).toBe(1);
    for (const reader of [readerX, readerY]) {
      const t = await trending(reader);
      expect(t.has(i.id)).toBe(false);
      expect(t.get(control.id)).toBe(6);
    }
    const series = await node.request(`/trends/indicators/${i.id}?window=day`, { token: readerY, headers: { accept: 'application/json' } });
    expect(((await series.json()) as any).buckets.filter((b: any) => b.sightings > 0)).toEqual([]);

    await reportAll(i.id);
    expect(await aggregatesIn(y, i.id)).toEqual(before);
    expect(await aggregatesIn(x, i.id)).toHaveLength(2);
  });

  it('fires no trend alert, whichever path stores an aggregate of it', async () => {
    const i = await inBoth({ labels: ['withdrawn-alert'] });
    const control = await inBoth({ labels: ['withdrawn-alert'] });
    for (const c of [x, y]) expect((await postObjects(node, c.base, [revoked(i)])).success_count).toBe(1);
    const sub = await subscribe(node, readerY, {
      name: 'three hospitals',
      collections: [y.id],
      filter: { min_sighting_orgs: 3, labels: ['withdrawn-alert'] },
      webhook_url: receiver.url,
    });
    // Aggregates as a peer's pull or the operator stores them: objects, not reports.
    const aggregate = (of: string) => ({
      type: 'sighting',
      spec_version: '2.1',
      id: `sighting--${randomUUID()}`,
      created: seen,
      modified: seen,
      sighting_of_ref: of,
      count: 40,
      first_seen: seen,
      last_seen: seen,
      summary: true,
      object_marking_refs: [TLP2.green],
      x_vigil_organisations: 5,
      x_vigil_bucket: { size: 'hour', start: hourOf(seen) },
    });
    expect((await postObjects(node, y.base, [aggregate(i.id), aggregate(control.id)])).success_count).toBe(2);
    await node.deps.alerts.drain();
    const fired = receiver.received.filter((r) => r.json.subscription.id === sub.id).map((r) => r.json.trend.indicator);
    expect(fired).toEqual([control.id]);
  });
});
