import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { client, distribution, json, TAXII } from '../load.ts';
import type { Client } from '../load.ts';
import type { Row } from '../report.ts';
import type { Target } from '../target.ts';
import { createCollection, objectsPath } from './setup.ts';

export type AlertOptions = {
  /** Subscriptions in all, spread over `clients` clients. */
  subscriptions: number;
  clients: number;
  /** Of the subscriptions, how many match the posted indicators (the rest filter them out). */
  matching: number;
  /** Indicators posted one by one; each should alert every matching subscription. */
  indicators: number;
};

/** A webhook receiver that notes when each (alert, object) arrived. */
async function receiver() {
  const arrivals: { at: number; storedAt: number; subscription: string; objectIds: string[] }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const alert = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        subscription: { id: string };
        stored_at: string;
        object_refs: { id: string }[];
      };
      arrivals.push({
        at,
        storedAt: Date.parse(alert.stored_at),
        subscription: alert.subscription.id,
        objectIds: alert.object_refs.map((r) => r.id),
      });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function createClients(admin: Client, collectionId: string, n: number): Promise<{ id: string; token: string }[]> {
  const out: { id: string; token: string }[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await json<{ id: string; token: string }>(admin, '/admin/clients', {
        method: 'POST',
        contentType: 'application/json',
        body: JSON.stringify({
          name: `bench-alerts-${randomUUID().slice(0, 8)}`,
          clearance: 'AMBER',
          grants: [{ collection_id: collectionId, can_read: true, can_write: true }],
        }),
      }),
    );
  }
  return out;
}

const GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';

/**
 * Early warning: `subscriptions` webhook subscriptions (a few matching, the rest with filters
 * that look at every object and reject it), then indicators posted one at a time. Latency is
 * from the POST's answer (the ingest committed) to the webhook's arrival, per matching
 * subscription and indicator: the time a hospital waits.
 */
export async function alertLatency(t: Target, o: AlertOptions): Promise<Row> {
  const admin = client(t.url, 4);
  const collectionId = await createCollection(admin, 'bench alerts');
  const clients = await createClients(admin, collectionId, o.clients);
  const hook = await receiver();
  const matching = new Set<string>();
  for (let i = 0; i < o.subscriptions; i++) {
    const who = clients[i % clients.length]!;
    const matches = i < o.matching;
    const filter = matches
      ? { observable_types: ['ipv4-addr'], labels: ['ransomware'] }
      : i % 3 === 0
        ? { observable_types: ['domain-name'] }
        : i % 3 === 1
          ? { labels: [`campaign-${i}`] }
          : { cpe_prefixes: [`cpe:2.3:a:vendor${i}:product`] };
    const sub = await json<{ id: string }>(admin, '/alerts/subscriptions', {
      method: 'POST',
      token: who.token,
      contentType: 'application/json',
      body: JSON.stringify({ name: `bench ${i}`, collections: [collectionId], filter, webhook_url: hook.url }),
    });
    if (matches) matching.add(sub.id);
  }
  const posted = new Map<string, number>();
  for (let i = 0; i < o.indicators; i++) {
    const id = `indicator--${randomUUID()}`;
    const now = new Date().toISOString();
    const ind = {
      type: 'indicator',
      spec_version: '2.1',
      id,
      created: now,
      modified: now,
      name: `bench C2 ${i}`,
      labels: ['ransomware'],
      pattern: `[ipv4-addr:value = '203.0.113.${i % 250}']`,
      pattern_type: 'stix',
      valid_from: now,
      object_marking_refs: [GREEN],
    };
    const r = await admin.request(objectsPath(collectionId), {
      method: 'POST',
      contentType: TAXII,
      body: JSON.stringify({ objects: [ind] }),
    });
    if (r.status !== 202 || !r.text.includes('"complete"')) throw new Error(`alerts: POST ${r.status} ${r.text.slice(0, 300)}`);
    posted.set(id, performance.now());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const expected = o.matching * o.indicators;
  const deadline = performance.now() + 30_000;
  const seen = () => hook.arrivals.reduce((n, a) => n + a.objectIds.length, 0);
  while (seen() < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await admin.close();
  await hook.close();
  const latencies: number[] = [];
  let stray = 0;
  for (const a of hook.arrivals) {
    if (!matching.has(a.subscription)) stray++;
    // From the version's date_added (stamped in the ingest's transaction, just before it commits;
    // the same clock: node and receiver run on this machine) to the webhook's arrival.
    for (const id of a.objectIds) if (posted.has(id)) latencies.push(a.at - a.storedAt);
  }
  const d = distribution(latencies, 1);
  const complete = latencies.length >= expected && stray === 0;
  return {
    scenario: `Alerts: ingest commit to webhook POST, ${o.subscriptions.toLocaleString('en-US')} subscriptions`,
    database: t.kind,
    size: `${o.indicators} indicators × ${o.matching} matching subscriptions`,
    figure: d.p99,
    unit: 'ms p99',
    raw: null,
    ratio: null,
    target: 'p99 < 2 s',
    pass: complete && d.p99 < 2000,
    extra: {
      'p50 ms': d.p50,
      'max ms': d.max,
      'alerts expected': expected,
      'alerts received': latencies.length,
      'to non-matching subscriptions': stray,
    },
  };
}
