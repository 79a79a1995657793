import { randomUUID } from 'node:crypto';
import { cpuPerUnit } from '../cpu.ts';
import { generate, take } from '../data.ts';
import { client, json, TAXII } from '../load.ts';
import type { Client } from '../load.ts';
import type { Row } from '../report.ts';
import type { Target } from '../target.ts';
import { createCollection, objectsPath } from './setup.ts';

export type FederationOptions = {
  /** Objects at the origin that the peer catches up on. */
  objects: number;
  /** The subscription's pull interval, for the latency scenario. */
  intervalSeconds: number;
  /** New objects posted one by one at the origin for the latency scenario (0: no latency row). */
  probes: number;
  /** The catch-up's target, in seconds. */
  catchUpTargetSeconds?: number;
};

/** A node in the federation: its target and the NODE_ID it was started with. */
export type FederatedNode = { target: Target; nodeId: string };

const GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';

async function jwks(t: Target): Promise<unknown[]> {
  const res = await fetch(`${t.url}/.well-known/jwks.json`);
  return ((await res.json()) as { keys: unknown[] }).keys;
}

async function admin(c: Client, method: string, path: string, body: unknown): Promise<any> {
  return json(c, path, { method, contentType: 'application/json', body: JSON.stringify(body) });
}

/** `peerAt` registers `other` as a peer: its node id, pinned keys and (to pull from it) its URL. */
async function registerPeer(at: Client, other: FederatedNode, grant?: string, pullFrom = false): Promise<string> {
  const c = await admin(at, 'POST', '/admin/clients', {
    name: `peer-${other.nodeId}-${randomUUID().slice(0, 6)}`,
    kind: 'peer',
    grants: grant ? [{ collection_id: grant, can_read: true, can_write: false }] : [],
  });
  await admin(at, 'PUT', `/admin/clients/${c.id}/peer`, {
    node_id: other.nodeId,
    keys: await jwks(other.target),
    ...(pullFrom ? { base_url: other.target.url } : {}),
  });
  return c.id as string;
}

/** What the subscription's receipts say arrived: a few rows, cheap to poll (a count of objects is not). */
async function received(t: Target, subscriptionId: string): Promise<number> {
  const [row] = await t.sql<{ n: string }>('SELECT coalesce(sum(object_count), 0)::text AS n FROM receipts WHERE source_id = $1', [
    subscriptionId,
  ]);
  return Number(row?.n ?? 0);
}

async function stored(t: Target, collectionId: string): Promise<number> {
  const [row] = await t.sql<{ n: string }>('SELECT count(*)::text AS n FROM objects WHERE collection_id = $1', [collectionId]);
  return Number(row?.n ?? 0);
}

/**
 * Federation: the peer subscribes to a collection of `objects` GREEN objects at the origin and
 * catches up (seconds until all are stored at the peer); then new objects posted at the origin,
 * one at a time: seconds until each is stored at the peer, against the pull interval.
 */
export async function federationScenarios(origin: FederatedNode, peer: FederatedNode, o: FederationOptions): Promise<Row[]> {
  const atOrigin = client(origin.target.url, 4);
  const atPeer = client(peer.target.url, 2);
  const source = await createCollection(atOrigin, 'bench federation source');
  // The origin's objects arrive as analysts submit them: through the node, which signs each.
  const stream = generate({ seed: 7 });
  for (let done = 0; done < o.objects; ) {
    const docs = take(stream, Math.min(1000, o.objects - done)).map((d) => {
      const object = JSON.parse(d.json) as Record<string, unknown>;
      object.object_marking_refs = [GREEN];
      return JSON.stringify(object);
    });
    const r = await atOrigin.request(objectsPath(source), { method: 'POST', contentType: TAXII, body: `{"objects":[${docs.join(',')}]}` });
    if (r.status !== 202 || !r.text.includes('"complete"')) throw new Error(`federation: POST ${r.status} ${r.text.slice(0, 200)}`);
    done += docs.length;
  }
  const expected = await stored(origin.target, source);
  await registerPeer(atOrigin, peer, source);
  const target = await createCollection(atPeer, 'bench federation copy');
  const peerId = await registerPeer(atPeer, origin, undefined, true);

  peer.target.rss.reset();
  const peerFrom = peer.target.cpu.read();
  const originFrom = origin.target.cpu.read();
  const t0 = performance.now();
  const sub = await admin(atPeer, 'POST', '/admin/sources', {
    peer_id: peerId,
    remote_api_root: 'default',
    remote_collection_id: source,
    collection_id: target,
    interval_seconds: o.intervalSeconds,
  });
  let caughtUp = Number.NaN;
  const deadline = t0 + Math.max(600_000, o.objects * 2);
  // Counting 100,000 objects every 100 ms took a core's worth of PostgreSQL from the nodes:
  // the receipts tell when every page arrived, and only then are the objects counted.
  while (performance.now() < deadline) {
    if ((await received(peer.target, sub.id)) >= expected && (await stored(peer.target, target)) >= expected) {
      caughtUp = (performance.now() - t0) / 1000;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const peakRss = peer.target.rss.peak();
  // Both nodes' schemas live in one database: its backends' time is the pair's.
  const peerCpu = cpuPerUnit(peerFrom, peer.target.cpu.read(), expected);
  const originCpu = cpuPerUnit(originFrom, origin.target.cpu.read(), expected);
  const cpu: Record<string, number> = {};
  if (peerCpu.node !== undefined) cpu['receiving node CPU µs/object'] = peerCpu.node;
  if (originCpu.node !== undefined) cpu['origin node CPU µs/object'] = originCpu.node;
  if (peerCpu.postgres !== undefined) cpu['PostgreSQL (both nodes) CPU µs/object'] = peerCpu.postgres;

  // Latency: one object at a time, each posted at a random point of the pull cycle.
  const latencies: number[] = [];
  for (let i = 0; i < o.probes; i++) {
    const id = `indicator--${randomUUID()}`;
    const now = new Date().toISOString();
    const ind = {
      type: 'indicator',
      spec_version: '2.1',
      id,
      created: now,
      modified: now,
      name: `probe ${i}`,
      pattern: "[domain-name:value = 'probe.example']",
      pattern_type: 'stix',
      valid_from: now,
      object_marking_refs: [GREEN],
    };
    await new Promise((resolve) => setTimeout(resolve, Math.random() * o.intervalSeconds * 1000));
    const r = await atOrigin.request(objectsPath(source), { method: 'POST', contentType: TAXII, body: JSON.stringify({ objects: [ind] }) });
    if (r.status !== 202) throw new Error(`federation probe: ${r.status}`);
    const posted = performance.now();
    while (performance.now() - posted < (o.intervalSeconds + 30) * 1000) {
      const [row] = await peer.target.sql<{ n: string }>('SELECT count(*)::text AS n FROM objects WHERE collection_id = $1 AND id = $2', [
        target,
        id,
      ]);
      if (Number(row?.n) > 0) {
        latencies.push((performance.now() - posted) / 1000);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await atOrigin.close();
  await atPeer.close();
  const worst = latencies.length === o.probes ? Math.max(...latencies) : Number.NaN;
  const db = peer.target.kind;
  const targetSeconds = o.catchUpTargetSeconds ?? 10;
  const catchUp: Row = {
    scenario: `Federation catch-up: ${o.objects.toLocaleString('en-US')} objects from a peer`,
    database: db,
    size: `${expected.toLocaleString('en-US')} objects`,
    figure: caughtUp,
    unit: 's',
    raw: null,
    ratio: null,
    target: `< ${targetSeconds} s, receiving node < 400 MB`,
    pass: caughtUp < targetSeconds && peakRss < 400 * 1024 * 1024,
    extra: { 'objects/s': expected / caughtUp, 'peak RSS MB': peakRss / (1024 * 1024), ...cpu },
    note: `receiving node: ${peer.target.rss.source}`,
  };
  if (o.probes === 0) return [catchUp];
  return [
    catchUp,
    {
      scenario: 'Federation latency: new object at the origin, seen at a peer',
      database: db,
      size: `${o.probes} objects, pull interval ${o.intervalSeconds} s`,
      figure: worst,
      unit: 's (worst)',
      raw: null,
      ratio: null,
      target: `≤ ${o.intervalSeconds + 1} s (interval + 1 s)`,
      pass: worst <= o.intervalSeconds + 1,
      extra: { 'median s': latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)] ?? Number.NaN, seen: latencies.length },
    },
  ];
}
