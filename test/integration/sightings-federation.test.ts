import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillSightingFigures } from '../../src/store/sighting-figures.ts';
import { federate, pull } from '../support/federation.ts';
import type { FederatedNode } from '../support/federation.ts';
import { startTestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';
import { TLP2 } from '../fixtures/tlp-ids.ts';

// Issue 19, point 3 (docs/sightings.md, "Federation"): three nodes on loopback, with real signed
// pulls, and two paths from C to A: A pulls B and C, B pulls C (and B pulls A back, so B's own
// aggregates return to it). Sightings are reported at B and C; the counts each node serves through
// GET /trends are exact, each aggregate counted once at its latest version, and a GREEN reader never
// counts an AMBER aggregate.

type Node = FederatedNode;
let a: Node;
let b: Node;
let c: Node;
const col = {} as Record<'c' | 'b' | 'bFromA' | 'aFromB' | 'aFromC', string>;
const src = {} as Record<'bc' | 'ac' | 'ab' | 'ba', string>;
/** Readers per node: cleared GREEN and AMBER, granted every collection of their node. */
const readers: Record<string, { green: string; amber: string }> = {};
let reporterB: string;
let reporterC: string;

const I = indicator({ object_marking_refs: [TLP2.green], labels: ['malicious-activity'] });
const K = indicator({ object_marking_refs: [TLP2.amber], pattern: "[domain-name:value = 'k.example.org']" });
const malware: StixObject = {
  type: 'malware',
  spec_version: '2.1',
  id: `malware--${randomUUID()}`,
  created: '2024-01-01T00:00:00.000Z',
  modified: '2024-01-01T00:00:00.000Z',
  name: 'LockBit',
  is_family: true,
  object_marking_refs: [TLP2.green],
};
/** Two relationships from I to the malware: its aggregates still count once for it. */
const indicates = () => ({
  type: 'relationship',
  spec_version: '2.1',
  id: `relationship--${randomUUID()}`,
  created: '2024-01-01T00:00:00.000Z',
  modified: '2024-01-01T00:00:00.000Z',
  relationship_type: 'indicates',
  source_ref: I.id,
  target_ref: malware.id,
  object_marking_refs: [TLP2.green],
});
/**
 * Every report's last_seen: one bucket for all, whenever the test runs. A minute ago, but never
 * before the hour (and so the day) the test runs in: the hour and day windows are those of now.
 */
const seen = new Date(Math.max(Date.now() - 60_000, Math.floor(Date.now() / 3_600_000) * 3_600_000)).toISOString();

async function collection({ node }: Node, title: string): Promise<string> {
  return (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title })).id;
}

async function client(n: Node, clearance: string, collections: string[], organisation?: string): Promise<string> {
  const grants = collections.map((id) => ({ collection_id: id, can_read: true, can_write: false }));
  const made = await adminJson(n.node, 'POST', '/admin/clients', {
    name: `${n.name}-${clearance}-${randomUUID().slice(0, 6)}`,
    clearance,
    grants,
    ...(organisation ? { organisation } : {}),
  });
  return made.token;
}

async function report(n: Node, token: string, indicatorId: string, count: number): Promise<void> {
  const res = await n.node.request('/sightings', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ indicator: indicatorId, count, last_seen: seen, shareable: true }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await n.node.deps.sightings.drain();
}

/** The collections of a node holding aggregates published by `origin`. */
async function holding(n: Node, origin: string): Promise<string[]> {
  const r = await sql<{ collection_id: string }>`SELECT DISTINCT collection_id::text FROM sighting_figures
    WHERE origin_node = ${origin} ORDER BY 1`.execute(n.node.database.db);
  return r.rows.map((row) => row.collection_id);
}

/** The ranking a node serves: id → sightings. */
async function trends(n: Node, token: string | undefined, query = ''): Promise<Record<string, number>> {
  const res = await n.node.request(`/trends?window=week${query}`, { ...(token === undefined ? {} : { token }) });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as { items: { id: string; sightings: number }[] };
  return Object.fromEntries(body.items.map((i) => [i.id, i.sightings]));
}

beforeAll(async () => {
  const start = async (name: string, country: string): Promise<Node> => ({
    name,
    node: await startTestNode({ NODE_ID: name, NODE_COUNTRY: country, SIGHTINGS_TICK_MS: '0', PULL_TICK_MS: '0' }),
  });
  [a, b, c] = await Promise.all([start('node-a', 'BE'), start('node-b', 'FR'), start('node-c', 'DE')]);
  col.c = await collection(c, 'shared by C');
  col.b = await collection(b, 'from C, shared by B');
  col.bFromA = await collection(b, 'back from A');
  col.aFromB = await collection(a, 'from B');
  col.aFromC = await collection(a, 'from C');
  src.bc = await federate(b, c, col.c, col.b);
  src.ac = await federate(a, c, col.c, col.aFromC);
  src.ab = await federate(a, b, col.b, col.aFromB, true);
  src.ba = await federate(b, a, col.aFromB, col.bFromA);
  for (const [n, cols] of [
    [a, [col.aFromB, col.aFromC]],
    [b, [col.b, col.bFromA]],
    [c, [col.c]],
  ] as const)
    readers[n.name] = { green: await client(n, 'GREEN', [...cols]), amber: await client(n, 'AMBER', [...cols]) };
  reporterB = await client(b, 'AMBER', [col.b], 'CHU de Lyon');
  reporterC = await client(c, 'AMBER', [col.c], 'Charité');

  expect((await postObjects(c.node, `/default/collections/${col.c}`, [I, malware, indicates(), indicates()])).success_count).toBe(4);
  expect((await postObjects(b.node, `/default/collections/${col.b}`, [K])).success_count).toBe(1);
  await pull(b, src.bc);
  await report(c, reporterC, I.id, 5);
  await report(b, reporterB, I.id, 3);
  await report(b, reporterB, K.id, 7);
  // C's aggregates reach A directly and through B; B's come back to B through A.
  await pull(b, src.bc);
  await pull(a, src.ac);
  await pull(a, src.ab);
  await pull(b, src.ba);
}, 60_000);

afterAll(async () => {
  await Promise.all([a, b, c].map((n) => n?.node.stop()));
});

describe('aggregates across three federated nodes', () => {
  it('every node counts its own aggregates and its peers’, each aggregate once however many paths brought it', async () => {
    // The paths are real: C's aggregates are held at A in both collections, B's at B in both.
    expect(await holding(a, 'node-c')).toEqual([col.aFromB, col.aFromC].sort());
    expect(await holding(b, 'node-b')).toEqual([col.b, col.bFromA].sort());
    expect(await trends(c, readers['node-c']!.amber)).toEqual({ [I.id]: 5 });
    expect(await trends(b, readers['node-b']!.amber)).toEqual({ [I.id]: 8, [K.id]: 7 });
    expect(await trends(a, readers['node-a']!.amber)).toEqual({ [I.id]: 8, [K.id]: 7 });
    expect(await trends(a, undefined)).toEqual({ [I.id]: 8, [K.id]: 7 });
    // The day and hour aggregates of one report are never added together.
    expect(await trends(a, readers['node-a']!.amber, '&window=day')).toEqual({ [I.id]: 8, [K.id]: 7 });
  });

  it('a GREEN reader never counts an AMBER aggregate, nor does a tlp filter', async () => {
    expect(await trends(a, readers['node-a']!.green)).toEqual({ [I.id]: 8 });
    expect(await trends(b, readers['node-b']!.green)).toEqual({ [I.id]: 8 });
    expect(await trends(a, readers['node-a']!.amber, '&tlp=green')).toEqual({ [I.id]: 8 });
    const series = await a.node.request(`/trends/indicators/${K.id}`, { token: readers['node-a']!.green });
    expect(series.status).toBe(404);
  });

  it('counts a newer version, and only it, while an older one is still held in another collection', async () => {
    await report(c, reporterC, I.id, 2);
    await pull(a, src.ac); // A holds C's new version from C, the older one from B
    expect(await trends(a, readers['node-a']!.amber)).toEqual({ [I.id]: 10, [K.id]: 7 });
    await pull(b, src.bc);
    await pull(a, src.ab);
    await pull(b, src.ba);
    expect(await trends(a, readers['node-a']!.green)).toEqual({ [I.id]: 10 });
    expect(await trends(b, readers['node-b']!.green)).toEqual({ [I.id]: 10 });
  });

  it('ranks malware through the indicators that indicate it, an aggregate once however many relationships', async () => {
    expect(await trends(a, readers['node-a']!.green, '&type=malware')).toEqual({ [malware.id]: 10 });
    expect(await trends(a, readers['node-a']!.amber, '&label=malicious-activity')).toEqual({ [I.id]: 10 });
  });

  it('serves an indicator’s series: a bucket per hour of the last day, its sightings counted once', async () => {
    const res = await a.node.request(`/trends/indicators/${I.id}?window=day`, { token: readers['node-a']!.green });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { buckets: { start: string; sightings: number; nodes: number }[] };
    expect(body.buckets).toHaveLength(24);
    const hour = `${seen.slice(0, 13)}:00:00.000000Z`;
    expect(body.buckets.filter((x) => x.sightings > 0)).toEqual([{ start: hour, sightings: 10, nodes: 2 }]);
  });

  it('extracts at start the figures of aggregates stored before migration 0016', async () => {
    const db = b.node.database.db;
    await sql`DELETE FROM sighting_figures`.execute(db);
    await sql`INSERT INTO node_settings (key, value) VALUES ('sighting_figures_backfill_after', '')`.execute(db);
    expect(await trends(b, readers['node-b']!.amber)).toEqual({});
    // In batches of 3 versions, across both collections.
    expect(await backfillSightingFigures(db, 3)).toBeGreaterThan(3);
    expect(await trends(b, readers['node-b']!.amber)).toEqual({ [I.id]: 10, [K.id]: 7 });
  });

  it('ranks what rose against the previous window; what fell is no riser', async () => {
    // Yesterday, K was sighted more than today at B: in the day window it fell.
    const yesterday = new Date(Date.parse(seen) - 86_400_000).toISOString();
    const res = await b.node.request('/sightings', {
      method: 'POST',
      token: reporterB,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ indicator: K.id, count: 20, last_seen: yesterday, shareable: true }),
    });
    expect(res.status).toBe(201);
    await b.node.deps.sightings.drain();
    const ranked = async (sort: string) => {
      const r = await b.node.request(`/trends?window=day&sort=${sort}`, { token: readers['node-b']!.amber });
      return ((await r.json()) as { items: { id: string; sightings: number; previous: number; growth: number }[] }).items;
    };
    expect(await ranked('sightings')).toEqual([
      expect.objectContaining({ id: I.id, sightings: 10, previous: 0, growth: 10 }),
      expect.objectContaining({ id: K.id, sightings: 7, previous: 20, growth: -0.65 }),
    ]);
    expect((await ranked('rising')).map((i) => i.id)).toEqual([I.id]);
  });

  it('refuses bad queries, and callers without a token', async () => {
    const t = readers['node-a']!.amber;
    for (const q of ['window=month', 'sort=up', 'type=tool', 'tlp=purple', 'limit=0', 'colour=red'])
      expect((await a.node.request(`/trends?${q}`, { token: t })).status, q).toBe(400);
    expect((await a.node.request('/trends', { token: null })).status).toBe(401);
    expect((await a.node.request('/trends/indicators/indicator--nope', { token: t })).status).toBe(404);
    expect((await a.node.request(`/trends/indicators/indicator--${randomUUID()}`, { token: t })).status).toBe(404);
  });
});
