import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_TEST_ENV, alertApi, deliveries, flakyReceiver, subscribe, verifyReceived } from '../support/alerts.ts';
import { federate, pull } from '../support/federation.ts';
import type { FederatedNode } from '../support/federation.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';
import { TLP2 } from '../fixtures/tlp-ids.ts';

// Issue 19, point 5 (docs/early-warning.md, "Trends"): a hospital's subscription with
// min_sighting_orgs or rising fires when stored aggregates (the node's own, or a peer's pulled over
// real signed requests) make an indicator cross it in its window, once per bucket, through the
// webhook and the stream, and never for a subscriber who may not read the indicator.

const HOUR = 3_600_000;
/** Reports' last_seen: a minute ago, but never before the hour the test runs in (the bucket of every report). */
const seen = new Date(Math.max(Date.now() - 60_000, Math.floor(Date.now() / HOUR) * HOUR)).toISOString();
/** The hour bucket of `seen`, and the one before it, as the alerts render bucket starts. */
const hourOf = (t: string) => `${t.slice(0, 13)}:00:00.000000Z`;
const earlier = new Date(Math.floor(Date.parse(seen) / HOUR) * HOUR - HOUR / 2).toISOString();

const receiver = flakyReceiver();
let node: TestNode;
let col: string;

async function client(n: TestNode, clearance: string, collections: string[], organisation?: string): Promise<string> {
  const made = await adminJson(n, 'POST', '/admin/clients', {
    name: `c-${randomUUID().slice(0, 8)}`,
    clearance,
    grants: collections.map((id) => ({ collection_id: id, can_read: true, can_write: false })),
    ...(organisation ? { organisation } : {}),
  });
  return made.token;
}

/** Reporters of distinct organisations, who may read `collections`. */
async function organisations(n: TestNode, collections: string[], count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => client(n, 'AMBER', collections, `Hospital ${i} ${randomUUID().slice(0, 6)}`)));
}

/** A shareable report (published at once, whatever the number of organisations), then the aggregation and the alert matcher. */
async function report(n: TestNode, token: string, indicatorId: string, count: number, lastSeen = seen): Promise<void> {
  const res = await n.request('/sightings', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ indicator: indicatorId, count, last_seen: lastSeen, shareable: true }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await n.deps.sightings.drain();
  await n.deps.alerts.drain();
}

/** The trend alerts a receiver got for a subscription. */
const alertsOf = (subscriptionId: string) => receiver.received.filter((r) => r.json.subscription.id === subscriptionId).map((r) => r.json);

async function indicatorIn(n: TestNode, collectionId: string, over: Partial<StixObject> = {}): Promise<StixObject> {
  const i = indicator({ object_marking_refs: [TLP2.amber], labels: ['ransomware'], ...over });
  expect((await postObjects(n, `/default/collections/${collectionId}`, [i])).success_count).toBe(1);
  await n.deps.alerts.drain();
  return i;
}

beforeAll(async () => {
  await receiver.start();
  node = await startTestNode({ ...ALERT_TEST_ENV, NODE_ID: 'node-fr', NODE_COUNTRY: 'FR', SIGHTINGS_TICK_MS: '0' });
  col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'hospital indicators' })).id;
}, 30_000);

afterAll(async () => {
  await node?.stop();
  await receiver.stop();
});

describe('min_sighting_orgs', () => {
  it('fires when the third organisation’s reports are aggregated, not at two, and once per bucket', async () => {
    const i = await indicatorIn(node, col);
    const hospital = await client(node, 'AMBER', [col]);
    const sub = await subscribe(node, hospital, {
      name: 'three hospitals',
      collections: [col],
      filter: { min_sighting_orgs: 3, labels: ['ransomware'] },
      webhook_url: receiver.url,
    });
    const day = await subscribe(node, hospital, {
      name: 'three hospitals a day',
      collections: [col],
      filter: { min_sighting_orgs: 3, sighting_window: 'day' },
      webhook_url: receiver.url,
    });
    const [o1, o2, o3, o4] = await organisations(node, [col], 4);
    await report(node, o1!, i.id, 4);
    await report(node, o2!, i.id, 2);
    await report(node, o1!, i.id, 1); // the same organisation again: still two
    expect(alertsOf(sub.id)).toEqual([]);
    expect(await deliveries(node, hospital, sub.id)).toEqual([]);

    await report(node, o3!, i.id, 1);
    expect(alertsOf(sub.id)).toHaveLength(1);
    const [alert] = alertsOf(sub.id);
    expect(alert.trend).toEqual({
      indicator: i.id,
      window: 'hour',
      bucket: { start: hourOf(seen), end: new Date(Date.parse(hourOf(seen)) + HOUR).toISOString().replace('Z', '000Z') },
      organisations: 3,
      sightings: 8,
      previous: 0,
      growth: 8,
      nodes: 1,
    });
    expect(alert.objects.map((o: StixObject) => o.id)).toEqual([i.id]);
    const signed = receiver.received.find((r) => r.json.id === alert.id)!;
    expect((await verifyReceived(node, signed)).sub).toBe(sub.id);
    expect(alertsOf(day.id).map((a) => [a.trend.window, a.trend.organisations])).toEqual([['day', 3]]);

    // Further updates of the same buckets fire nothing more.
    await report(node, o4!, i.id, 5);
    await report(node, o2!, i.id, 1);
    expect(alertsOf(sub.id)).toHaveLength(1);
    expect(alertsOf(day.id)).toHaveLength(1);
    expect(await deliveries(node, hospital, sub.id)).toEqual([expect.objectContaining({ state: 'delivered', object_count: 1 })]);
  });

  it('does not fire for a subscriber not cleared for the indicator’s TLP, nor when the other criteria leave it out', async () => {
    const i = await indicatorIn(node, col);
    const green = await client(node, 'GREEN', [col]);
    const amber = await client(node, 'AMBER', [col]);
    const filter = { min_sighting_orgs: 1 };
    const notCleared = await subscribe(node, green, { name: 'green', collections: [col], filter, webhook_url: receiver.url });
    const otherLabel = await subscribe(node, amber, {
      name: 'phishing only',
      collections: [col],
      filter: { ...filter, labels: ['phishing'] },
      webhook_url: receiver.url,
    });
    const cleared = await subscribe(node, amber, { name: 'amber', collections: [col], filter, webhook_url: receiver.url });
    const [o1] = await organisations(node, [col], 1);
    await report(node, o1!, i.id, 2);
    expect(alertsOf(cleared.id).map((a) => a.trend.indicator)).toEqual([i.id]);
    expect(alertsOf(notCleared.id)).toEqual([]);
    expect(await deliveries(node, green, notCleared.id)).toEqual([]);
    expect(alertsOf(otherLabel.id)).toEqual([]);
  });

  it('refuses criteria that cannot hold together', async () => {
    const hospital = await client(node, 'AMBER', [col]);
    for (const filter of [
      { min_sighting_orgs: 0 },
      { min_sighting_orgs: 2.5 },
      { rising: 'yes' },
      { sighting_window: 'week', min_sighting_orgs: 3 },
      { sighting_window: 'day' },
      { min_sighting_orgs: 3, cpe_prefixes: ['cpe:2.3:a:siemens'] },
      { rising: true, types: ['malware'] },
    ]) {
      const res = await alertApi(node, 'POST', '/subscriptions', hospital, { name: 'x', collections: [col], filter });
      expect(res.status, JSON.stringify(filter)).toBe(400);
    }
  });
});

describe('rising', () => {
  it('fires on growth against the previous window, and not without it', async () => {
    const i = await indicatorIn(node, col);
    const [o1, o2, o3] = await organisations(node, [col], 3);
    await report(node, o1!, i.id, 5, earlier); // the hour before: 5
    const hospital = await client(node, 'AMBER', [col]);
    const sub = await subscribe(node, hospital, {
      name: 'rising',
      collections: [col],
      filter: { rising: true },
      webhook_url: receiver.url,
    });

    await report(node, o2!, i.id, 3); // 3 after 5: no growth
    expect(alertsOf(sub.id)).toEqual([]);
    await report(node, o3!, i.id, 3); // 6 after 5
    expect(alertsOf(sub.id).map((a) => a.trend)).toEqual([
      expect.objectContaining({ indicator: i.id, sightings: 6, previous: 5, growth: 0.2, organisations: 2 }),
    ]);
    await report(node, o2!, i.id, 10);
    expect(alertsOf(sub.id)).toHaveLength(1);
  });
});

describe('the stream', () => {
  it('delivers a trend alert over Server-Sent Events', async () => {
    const i = await indicatorIn(node, col);
    const hospital = await client(node, 'AMBER', [col]);
    const sub = await subscribe(node, hospital, { name: 'stream', collections: [col], filter: { min_sighting_orgs: 2 } });
    const abort = new AbortController();
    const res = await node.request(`/alerts/stream?subscription=${sub.id}`, {
      token: hospital,
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const [o1, o2] = await organisations(node, [col], 2);
    await report(node, o1!, i.id, 1);
    await report(node, o2!, i.id, 1);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 10_000;
    // Until an event with data is complete: its lines, then a blank line (HTML §9.2.6).
    while (!/(^|\n)data: [^\n]*\n([^\n]+\n)*\n/.test(text) && Date.now() < deadline) {
      const r = await Promise.race([reader.read(), new Promise<'late'>((ok) => setTimeout(() => ok('late'), deadline - Date.now()))]);
      if (r === 'late' || r.done) break;
      text += decoder.decode(r.value, { stream: true });
    }
    abort.abort();
    const data = text.split('\n').find((l) => l.startsWith('data: '));
    expect(data, text).toBeDefined();
    const alert = JSON.parse(data!.slice('data: '.length));
    expect(alert.subscription.id).toBe(sub.id);
    expect(alert.trend).toMatchObject({ indicator: i.id, organisations: 2, sightings: 2 });
    expect(alert.objects.map((o: StixObject) => o.id)).toEqual([i.id]);
    expect(await deliveries(node, hospital, sub.id)).toEqual([expect.objectContaining({ state: 'stream' })]);
  });
});

describe('across the federation', () => {
  let a: FederatedNode;
  let b: FederatedNode;
  beforeAll(async () => {
    const start = async (name: string, country: string): Promise<FederatedNode> => ({
      name,
      node: await startTestNode({ ...ALERT_TEST_ENV, NODE_ID: name, NODE_COUNTRY: country, SIGHTINGS_TICK_MS: '0', PULL_TICK_MS: '0' }),
    });
    [a, b] = await Promise.all([start('node-be', 'BE'), start('node-de', 'DE')]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a, b].map((n) => n?.node.stop()));
  });

  it('fires when the organisations are split across two nodes, at each node once its peer’s aggregates arrive', async () => {
    const mkCol = async (n: FederatedNode, title: string) =>
      (await adminJson(n.node, 'POST', '/admin/collections', { api_root: 'default', title })).id as string;
    const colA = await mkCol(a, 'BE indicators');
    const colB = await mkCol(b, 'from BE');
    const colAFromB = await mkCol(a, 'from DE');
    const bPullsA = await federate(b, a, colA, colB);
    const aPullsB = await federate(a, b, colB, colAFromB);
    const i = await indicatorIn(a.node, colA, { object_marking_refs: [TLP2.green] });
    await pull(b, bPullsA);

    // A's hospital watches A's collection, and reads what A pulls from B; B's watches what B pulls from A.
    const hospitalA = await client(a.node, 'GREEN', [colA, colAFromB]);
    const hospitalB = await client(b.node, 'GREEN', [colB]);
    const filter = { min_sighting_orgs: 3 };
    const subA = await subscribe(a.node, hospitalA, { name: 'A', collections: [colA], filter, webhook_url: receiver.url });
    const subB = await subscribe(b.node, hospitalB, { name: 'B', collections: [colB], filter, webhook_url: receiver.url });

    const [a1, a2] = await organisations(a.node, [colA], 2);
    const [b1] = await organisations(b.node, [colB], 1);
    await report(a.node, a1!, i.id, 2);
    await report(a.node, a2!, i.id, 2);
    await pull(b, bPullsA);
    await b.node.deps.alerts.drain();
    expect(alertsOf(subA.id)).toEqual([]);
    expect(alertsOf(subB.id)).toEqual([]);

    // The third organisation reports at B: B counts A's two and its own one.
    await report(b.node, b1!, i.id, 1);
    expect(alertsOf(subB.id).map((x) => x.trend)).toEqual([
      expect.objectContaining({ indicator: i.id, organisations: 3, sightings: 5, nodes: 2 }),
    ]);
    expect(alertsOf(subA.id)).toEqual([]);
    // A, once it has pulled B's aggregate into another collection its hospital reads.
    await pull(a, aPullsB);
    await a.node.deps.alerts.drain();
    expect(alertsOf(subA.id).map((x) => x.trend)).toEqual([
      expect.objectContaining({ indicator: i.id, organisations: 3, sightings: 5, nodes: 2 }),
    ]);
    expect(alertsOf(subA.id)[0].collection.id).toBe(colA);
    // The same aggregates arriving again (B pulls A's, with B's own coming back) fire nothing more.
    await pull(b, bPullsA);
    await b.node.deps.alerts.drain();
    expect(alertsOf(subB.id)).toHaveLength(1);
  });
});
