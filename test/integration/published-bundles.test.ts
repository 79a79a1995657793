import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STIX, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';
import { PUBLISHED_BUNDLES } from '../fixtures/published-bundles.ts';
import type { PublishedBundle } from '../fixtures/published-bundles.ts';
import { OPENCTI_AMBER_STRICT, TLP1, TLP2 } from '../fixtures/tlp-ids.ts';

// Real data, as its producers publish it: each bundle is submitted whole (one request, its
// objects in their published order, its bytes untouched) and read back as a SIEM polls it. What
// the node accepts, it serves: to a client cleared for everything, every accepted object, as the
// same JSON value; to a client cleared for the collection's default level (AMBER), all but what
// is marked stricter and what points at that; and a peer pulling the collection ends up with
// the same set as that client.

// B takes the bundles (larger ones than this are queued, smaller ones stored inline); A pulls from B.
const INLINE_MAX = 50;

let a: TestNode;
let b: TestNode;
let peerAtA: string; // node-b as a peer of A
let peerAtB: string; // node-a as a peer of B

beforeAll(async () => {
  b = await startTestNode({ NODE_ID: 'node-b', PULL_TICK_MS: '0', SYNC_INGEST_MAX_OBJECTS: String(INLINE_MAX) });
  a = await startTestNode({ NODE_ID: 'node-a', PULL_TICK_MS: '0' });
  peerAtB = (await adminJson(b, 'POST', '/admin/clients', { name: 'node-a', kind: 'peer', peer_amber: true })).id;
  await adminJson(b, 'PUT', `/admin/clients/${peerAtB}/peer`, { node_id: 'node-a', keys: a.deps.keyring.publicKeys() });
  peerAtA = (await adminJson(a, 'POST', '/admin/clients', { name: 'node-b', kind: 'peer' })).id;
  await adminJson(a, 'PUT', `/admin/clients/${peerAtA}/peer`, { node_id: 'node-b', keys: b.deps.keyring.publicKeys(), base_url: b.url });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

type Obj = Record<string, unknown>;

/** The version a read serves for each id: the latest by modified (else created). */
function latestById(objects: Obj[]): Map<string, Obj> {
  const latest = new Map<string, Obj>();
  const version = (o: Obj) => String(o.modified ?? o.created ?? '');
  for (const o of objects) {
    const held = latest.get(o.id as string);
    if (!held || version(o) > version(held)) latest.set(o.id as string, o);
  }
  return latest;
}

const TLP_IDS = new Set([...Object.values(TLP1), ...Object.values(TLP2), OPENCTI_AMBER_STRICT]);
const STRICTER_THAN_AMBER = new Set([TLP1.red, TLP2.red, TLP2.amberStrict, OPENCTI_AMBER_STRICT]);
const LINKS: Record<string, string[]> = {
  relationship: ['source_ref', 'target_ref'],
  sighting: ['sighting_of_ref', 'observed_data_refs', 'where_sighted_refs'],
};
const CONTAINERS = new Set(['report', 'grouping', 'note', 'opinion']);

const markingsOf = (o: Obj) => [
  ...((o.object_marking_refs as string[] | undefined) ?? []),
  ...((o.granular_markings as { marking_ref?: string }[] | undefined) ?? []).flatMap((g) => (g.marking_ref ? [g.marking_ref] : [])),
];

/** Objects marked with an id that is neither a TLP marking nor defined in the bundle: they wait for it. */
function waiting(objects: Obj[]): Set<string> {
  const defined = new Set(objects.filter((o) => o.type === 'marking-definition').map((o) => o.id as string));
  return new Set(objects.filter((o) => markingsOf(o).some((m) => !TLP_IDS.has(m) && !defined.has(m))).map((o) => o.id as string));
}

/** Objects marked RED or AMBER+STRICT (object or granular marking): not for an AMBER client of another organisation. */
function stricterThanAmber(objects: Obj[]): Set<string> {
  return new Set(objects.filter((o) => markingsOf(o).some((m) => STRICTER_THAN_AMBER.has(m))).map((o) => o.id as string));
}

/**
 * What a reader does not get, by the rules of tlp.md read from the objects themselves: the
 * objects it may not see, and the links and containers of the bundle pointing at one of them.
 */
function withheld(objects: Obj[], unseen: Set<string>): Set<string> {
  const refs = (o: Obj): string[] => {
    const props = LINKS[o.type as string] ?? (CONTAINERS.has(o.type as string) ? ['object_refs'] : []);
    return props.flatMap((p) => (Array.isArray(o[p]) ? (o[p] as string[]) : typeof o[p] === 'string' ? [o[p] as string] : []));
  };
  const held = new Set(objects.map((o) => o.id as string));
  const pointing = objects.filter((o) => refs(o).some((r) => unseen.has(r) && held.has(r))).map((o) => o.id as string);
  return new Set([...unseen, ...pointing]);
}

/**
 * Objects of a published bundle that break a MUST of STIX 2.1, by bundle: each is refused with
 * its own failure, and the rest is stored. Any other refusal fails the suite.
 */
const REFUSED: Record<string, Record<string, RegExp>> = {
  // STIX 2.1 §4.11: a location needs one of region, country, or latitude and longitude; OpenCTI
  // exports a city alone.
  'real-world/opencti/20241003_Report_to_test_orga_sharing_full.json': {
    'location--d1693b3f-fcd4-5996-aede-f78d1144c1ce': /at least one of region, country, latitude must be present/,
  },
};

async function submit(node: TestNode, base: string, fixture: PublishedBundle): Promise<any> {
  const { contentType, body } = fixture.request();
  const res = await node.request(`${base}/objects/`, {
    method: 'POST',
    headers: { 'content-type': contentType === 'bundle' ? STIX : TAXII },
    body,
  });
  expect(res.status, await res.clone().text()).toBe(202);
  let status: any = await res.json();
  for (let i = 0; status.status !== 'complete' && i < 1200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    status = await (await node.request(`/default/status/${status.id}/`)).json();
  }
  return status;
}

it('has real bundles to test with, from each producer: OASIS, MITRE ATT&CK, MISP and OpenCTI', () => {
  const from = (folder: string) => PUBLISHED_BUNDLES.filter((b) => b.name.startsWith(folder)).length;
  expect(from('stix/oasis-examples/')).toBeGreaterThanOrEqual(15);
  expect(from('real-world/mitre-attack/')).toBeGreaterThanOrEqual(1);
  expect(from('real-world/misp/')).toBeGreaterThanOrEqual(5);
  expect(from('real-world/opencti/')).toBeGreaterThanOrEqual(1);
  // Each bundle whose refusals are listed is one the suite submits.
  for (const name of Object.keys(REFUSED)) expect(PUBLISHED_BUNDLES.map((b) => b.name)).toContain(name);
});

describe.each(PUBLISHED_BUNDLES.map((f) => [f.name, f] as const))('%s, submitted as published', (_, fixture) => {
  const refused = REFUSED[fixture.name] ?? {};
  const objects = fixture.objects().filter((o) => !((o.id as string) in refused));
  const latest = latestById(objects);
  let colB: string;
  let baseB: string;
  let status: any;
  let amber: { token: string };

  beforeAll(async () => {
    colB = (await adminJson(b, 'POST', '/admin/collections', { api_root: 'default', title: fixture.name })).id;
    baseB = `/default/collections/${colB}`;
    amber = await adminJson(b, 'POST', '/admin/clients', {
      name: `amber-${randomUUID().slice(0, 8)}`,
      clearance: 'AMBER',
      grants: [{ collection_id: colB, can_read: true, can_write: false }],
    });
    status = await submit(b, baseB, fixture);
  });

  it('is stored whole: every object a success, withheld only where its marking-definition is missing from the bundle', () => {
    const failures = Object.keys(refused).length;
    expect(status).toMatchObject({
      status: 'complete',
      total_count: objects.length + failures,
      failure_count: failures,
      success_count: objects.length,
    });
    for (const f of status.failures ?? []) expect(f.message).toMatch(refused[f.id]!);
    const waits = waiting(objects);
    for (const s of status.successes) {
      if (waits.has(s.id)) expect(s.message).toMatch(/^added; withheld until marking-definition marking-definition--\S+ is known/);
      else expect(s.message).toBe('added');
    }
  });

  it('is served whole, each object the same JSON value, to a client cleared for everything', async () => {
    const all = await adminJson(b, 'POST', '/admin/clients', {
      name: `all-${randomUUID().slice(0, 8)}`,
      clearance: 'AMBER+STRICT',
      own_org: true,
      grants: [{ collection_id: colB, can_read: true, can_write: false }],
    });
    await adminJson(b, 'PUT', `/admin/collections/${colB}/red-recipients/${all.id}`);
    const read = await readCollection(b, baseB, all.token);
    const hidden = withheld([...latest.values()], waiting(objects));
    expect(read.objects.map((o) => o.id).sort()).toEqual([...latest.keys()].filter((id) => !hidden.has(id)).sort());
    for (const o of read.objects) expect(o).toEqual(latest.get(o.id as string));
  });

  it('is served to a client cleared for the default level (AMBER), all but what is marked stricter', async () => {
    const hidden = withheld([...latest.values()], new Set([...waiting(objects), ...stricterThanAmber(objects)]));
    const read = await readCollection(b, baseB, amber.token);
    expect(read.objects.map((o) => o.id).sort()).toEqual([...latest.keys()].filter((id) => !hidden.has(id)).sort());
  });

  it('crosses one federation hop: a peer pulling the collection holds what that client is served', async () => {
    await adminJson(b, 'PUT', `/admin/clients/${peerAtB}/grants/${colB}`, { can_read: true, can_write: false });
    const colA = (await adminJson(a, 'POST', '/admin/collections', { api_root: 'default', title: `pulled: ${fixture.name}` })).id;
    const sub = await adminJson(a, 'POST', '/admin/sources', {
      peer_id: peerAtA,
      remote_api_root: 'default',
      remote_collection_id: colB,
      collection_id: colA,
      interval_seconds: 3600,
    });
    const outcome = await a.deps.puller.pullNow(sub.id, { pageLimit: 500, maxPages: 1000 });
    expect(outcome).toMatchObject({ ok: true, more: false, quarantined: 0 });
    const atA = await readCollection(a, `/default/collections/${colA}`);
    const atB = await readCollection(b, baseB, amber.token);
    expect(atA.objects.map((o) => o.id).sort()).toEqual(atB.objects.map((o) => o.id).sort());
    for (const o of atA.objects) expect(o).toEqual(latest.get(o.id as string));
  });
});
