import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';
import { TLP2 } from '../fixtures/tlp-ids.ts';

// docs/sightings.md, "Trends" and "Federation": an aggregate counts once, at its latest version
// among those the reader may read. Trends read each version's copy of its read conditions
// (migration 0018), so these follow the versions as later ones arrive, in any order, as one is
// deleted, and as a stricter one raises the level of the others.

const HOUR = 3_600_000;
/** A minute ago, but never before the hour (and so the day) the test runs in. */
const seen = new Date(Math.max(Date.now() - 60_000, Math.floor(Date.now() / HOUR) * HOUR)).toISOString();
const day = `${seen.slice(0, 10)}T00:00:00.000000Z`;

let node: TestNode;
const x = { id: '', base: '' };
const y = { id: '', base: '' };
let greenX: string;
let greenBoth: string;
let amberBoth: string;

async function client(clearance: string, collections: string[]): Promise<string> {
  const grants = collections.map((id) => ({ collection_id: id, can_read: true, can_write: false }));
  return (await adminJson(node, 'POST', '/admin/clients', { name: `t-${randomUUID().slice(0, 8)}`, clearance, grants })).token;
}

async function inBoth(): Promise<StixObject> {
  const i = indicator({ object_marking_refs: [TLP2.green], pattern: `[domain-name:value = '${randomUUID()}.example.org']` });
  for (const c of [x, y]) expect((await postObjects(node, c.base, [i])).success_count).toBe(1);
  return i;
}

/** Version `n` (its `modified` second) of an aggregate of the day, as a peer's pull stores it. */
const version = (id: string, of: string, n: number, count: number, marking = TLP2.green): StixObject => ({
  type: 'sighting',
  spec_version: '2.1',
  id,
  created: '2024-01-01T00:00:00.000Z',
  modified: `2024-01-01T00:00:${String(n).padStart(2, '0')}.000Z`,
  sighting_of_ref: of,
  count,
  first_seen: seen,
  last_seen: seen,
  summary: true,
  object_marking_refs: [marking],
  x_vigil_organisations: 4,
  x_vigil_bucket: { size: 'day', start: day },
});

async function sightings(token: string, indicatorId: string): Promise<number | undefined> {
  const res = await node.request('/trends?window=day&limit=500', { token, headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  return ((await res.json()) as any).items.find((i: any) => i.id === indicatorId)?.sightings;
}

beforeAll(async () => {
  node = await startTestNode({ SIGHTINGS_TICK_MS: '0' });
  for (const c of [x, y]) {
    c.id = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `versions ${randomUUID()}` })).id;
    c.base = `/default/collections/${c.id}`;
  }
  greenX = await client('GREEN', [x.id]);
  greenBoth = await client('GREEN', [x.id, y.id]);
  amberBoth = await client('AMBER', [x.id, y.id]);
}, 30_000);

afterAll(async () => {
  await node?.stop();
});

describe('an aggregate in many versions', () => {
  it('counts only its latest, whatever order the versions arrive in, and the one before once the latest is deleted', async () => {
    const i = await inBoth();
    const id = `sighting--${randomUUID()}`;
    expect((await postObjects(node, x.base, [version(id, i.id, 3, 30)])).success_count).toBe(1);
    expect((await postObjects(node, x.base, [version(id, i.id, 1, 10), version(id, i.id, 2, 20)])).success_count).toBe(2);
    expect(await sightings(greenX, i.id)).toBe(30);
    expect((await postObjects(node, x.base, [version(id, i.id, 4, 40)])).success_count).toBe(1);
    expect(await sightings(greenX, i.id)).toBe(40);
    const res = await node.request(`${x.base}/objects/${id}/?match[version]=2024-01-01T00:00:04.000Z`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await sightings(greenX, i.id)).toBe(30);
  });

  it('counts the latest version the reader may read: an older one where the latest is in a collection it may not read', async () => {
    const i = await inBoth();
    const id = `sighting--${randomUUID()}`;
    expect((await postObjects(node, x.base, [version(id, i.id, 1, 5)])).success_count).toBe(1);
    expect((await postObjects(node, y.base, [version(id, i.id, 2, 7)])).success_count).toBe(1);
    expect(await sightings(greenX, i.id)).toBe(5);
    expect(await sightings(greenBoth, i.id)).toBe(7);
  });

  it('counts none of a collection’s versions once a stricter one raises their level above the reader’s', async () => {
    const i = await inBoth();
    const id = `sighting--${randomUUID()}`;
    expect((await postObjects(node, x.base, [version(id, i.id, 1, 5)])).success_count).toBe(1);
    expect((await postObjects(node, y.base, [version(id, i.id, 2, 7)])).success_count).toBe(1);
    expect((await postObjects(node, y.base, [version(id, i.id, 3, 9, TLP2.amber)])).success_count).toBe(1);
    expect(await sightings(greenBoth, i.id)).toBe(5);
    expect(await sightings(amberBoth, i.id)).toBe(9);
  });
});
