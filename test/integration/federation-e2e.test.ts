import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKeyring, loadKeyring } from '../../src/federation/keyring.ts';
import type { Keyring, PublicJwk } from '../../src/federation/keyring.ts';
import { OriginSignatureError, verifyOrigin } from '../../src/federation/origin-signature.ts';
import { createRequestProof, PROOF_SCHEME } from '../../src/federation/request-proof.ts';
import { generateOperatorKey, signTrustList } from '../../src/federation/trust-list.ts';
import { TAXII, testSchema } from '../support/node.ts';
import { freePorts, nodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { indicator } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';

// Issue 4, "Tests", first point: three real node processes on loopback, federated A ← B ← C
// (A pulls from B, B pulls from C), each with its own port, keys and database (A on PostgreSQL
// when TEST_DATABASE_URL is set, else PGlite; B and C on PGlite), all in one trust list.

// TLP ids (src/policy/tlp-ids.ts)
const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';
const AMBER_STRICT = 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003';
const RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';

const PULL_TICK_MS = 200;
const INTERVAL_S = 1;
const INTERVAL_MS = INTERVAL_S * 1000;
/** How long an object may take to cross one hop: one interval, a tick, and slack for 2 cores. */
const HOP_DEADLINE_MS = 5 * INTERVAL_MS;

const pgUrl = process.env.TEST_DATABASE_URL;
let schema: Awaited<ReturnType<typeof testSchema>> | undefined;

let root: string;
let a: NodeProcess;
let b: NodeProcess;
let c: NodeProcess;
const nodes: NodeProcess[] = [];
const keys: Record<'a' | 'b' | 'c', PublicJwk[]> = { a: [], b: [], c: [] };
let testPeer: Keyring; // a key A trusts as a peer, to pull from A as a peer node would
let colA: string;
let colB: string;
let colC: string;
let subA: string; // A pulls B
let subB: string; // B pulls C
let peerAAtB: string; // node-a's client at B
let peerBAtC: string; // node-b's client at C

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or fails at the deadline. */
async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms\n${nodes.map((n) => n.output()).join('\n')}`);
    await sleep(100);
  }
}

const objectsBase = (col: string) => `/default/collections/${col}/objects`;

/** The versions of an object a node holds, read by its admin (TAXII versions endpoint); [] when none. */
async function versions(node: NodeProcess, col: string, id: string): Promise<string[]> {
  const res = await node.request(`${objectsBase(col)}/${id}/versions/`);
  if (res.status === 404) return [];
  expect(res.status, `${node.name} versions of ${id}`).toBe(200);
  return ((await res.json()) as { versions?: string[] }).versions ?? [];
}

/** The object as a node's admin reads it (every version), [] when the node does not hold it. */
async function held(node: NodeProcess, col: string, id: string): Promise<StixObject[]> {
  const res = await node.request(`${objectsBase(col)}/${id}/?match[version]=all`);
  if (res.status === 404) return [];
  expect(res.status, `${node.name} GET ${id}`).toBe(200);
  return ((await res.json()) as { objects?: StixObject[] }).objects ?? [];
}

const arrives = (node: NodeProcess, col: string, id: string, deadlineMs: number) =>
  until(`${id} at ${node.name}`, deadlineMs, async () => ((await versions(node, col, id)).length > 0 ? Date.now() : undefined));

/** POSTs an envelope at C as C's admin; waits for its status to be complete. */
async function submitAtC(objects: StixObject[]): Promise<void> {
  const res = await c.request(`${objectsBase(colC)}/`, {
    method: 'POST',
    headers: { 'content-type': TAXII },
    body: JSON.stringify({ objects }),
  });
  expect(res.status).toBe(202);
  let status = (await res.json()) as { id: string; status: string; success_count: number };
  for (let i = 0; status.status !== 'complete' && i < 200; i++) {
    await sleep(50);
    status = (await (await c.request(`/default/status/${status.id}/`)).json()) as typeof status;
  }
  expect(status).toMatchObject({ status: 'complete', success_count: objects.length });
}

async function peerClient(
  node: NodeProcess,
  name: string,
  nodeId: string,
  pinned: PublicJwk[],
  opts: { read?: string; baseUrl?: string; amber?: boolean },
): Promise<string> {
  const grants = opts.read ? [{ collection_id: opts.read, can_read: true, can_write: false }] : [];
  const client = await node.admin('POST', '/admin/clients', { name, kind: 'peer', peer_amber: opts.amber ?? false, grants });
  await node.admin('PUT', `/admin/clients/${client.id}/peer`, {
    node_id: nodeId,
    keys: pinned,
    ...(opts.baseUrl ? { base_url: opts.baseUrl } : {}),
  });
  return client.id as string;
}

const subscriptionStatus = (node: NodeProcess, id: string) => node.admin('GET', `/admin/sources/${id}`);

/** Resolves once a subscription has completed a successful pull that started after `since`. */
const pulledSince = (node: NodeProcess, id: string, since: number, deadlineMs: number) =>
  until(`a pull by ${node.name} after ${new Date(since).toISOString()}`, deadlineMs, async () => {
    const s = await subscriptionStatus(node, id);
    return s.last_success && Date.parse(s.last_success) > since + 50 && s.consecutive_failures === 0 ? s : undefined;
  });

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'vigil-e2e-'));
  const dirs = { a: path.join(root, 'a'), b: path.join(root, 'b'), c: path.join(root, 'c'), t: path.join(root, 'peer-t') };
  for (const [n, dir] of Object.entries(dirs)) {
    mkdirSync(dir, { recursive: true });
    await ensureKeyring(path.join(dir, 'keys'), `node-${n}`);
  }
  keys.a = loadKeyring(path.join(dirs.a, 'keys')).publicKeys();
  keys.b = loadKeyring(path.join(dirs.b, 'keys')).publicKeys();
  keys.c = loadKeyring(path.join(dirs.c, 'keys')).publicKeys();
  testPeer = loadKeyring(path.join(dirs.t, 'keys'));

  const [portA, portB, portC] = await freePorts(3);
  const url = (port: number) => `http://127.0.0.1:${port}`;

  // The federation operator's trust list: the three nodes and their keys.
  const operator = await generateOperatorKey();
  const now = Date.now();
  const list = await signTrustList(
    {
      type: 'vigil-trust-list',
      federation: 'vigil-e2e',
      issued: new Date(now - 60_000).toISOString(),
      expires: new Date(now + 86_400_000).toISOString(),
      members: [
        { node_id: 'node-a', base_url: url(portA!), keys: keys.a },
        { node_id: 'node-b', base_url: url(portB!), keys: keys.b },
        { node_id: 'node-c', base_url: url(portC!), keys: keys.c },
      ],
    },
    operator.privateJwk,
  );
  const anchorFile = path.join(root, 'operator.public.jwk');
  const listFile = path.join(root, 'trustlist.jws');
  writeFileSync(anchorFile, JSON.stringify(operator.publicJwk));
  writeFileSync(listFile, list);

  const env = (n: 'a' | 'b' | 'c') => ({
    NODE_ID: `node-${n}`,
    DATA_DIR: dirs[n],
    KEY_DIR: path.join(dirs[n], 'keys'),
    PULL_TICK_MS: String(PULL_TICK_MS),
    TRUST_ANCHOR: anchorFile,
    TRUST_LIST: listFile,
  });
  let databaseA: Record<string, string> = {};
  if (pgUrl) {
    schema = await testSchema(pgUrl);
    databaseA = { DATABASE_URL: schema.url };
  }
  a = nodeProcess('node-a', portA!, { ...env('a'), ...databaseA });
  b = nodeProcess('node-b', portB!, env('b'));
  c = nodeProcess('node-c', portC!, env('c'));
  nodes.push(a, b, c);
  await Promise.all(nodes.map((n) => n.start()));

  // C: a collection, and node-b as a peer that may read it, AMBER included.
  colC = (await c.admin('POST', '/admin/collections', { api_root: 'default', title: 'shared at C' })).id;
  peerBAtC = await peerClient(c, 'node-b', 'node-b', keys.b, { read: colC, amber: true });
  // B: a collection pulled from C, served to node-a (peer_amber: the agreement allows AMBER).
  colB = (await b.admin('POST', '/admin/collections', { api_root: 'default', title: 'pulled from C' })).id;
  const peerCAtB = await peerClient(b, 'node-c', 'node-c', keys.c, { baseUrl: c.url });
  peerAAtB = await peerClient(b, 'node-a', 'node-a', keys.a, { read: colB, amber: true });
  subB = (
    await b.admin('POST', '/admin/sources', {
      peer_id: peerCAtB,
      remote_api_root: 'default',
      remote_collection_id: colC,
      collection_id: colB,
      interval_seconds: INTERVAL_S,
    })
  ).id;
  // A: a collection pulled from B; and a test peer that may read it (to see what A serves peers).
  colA = (await a.admin('POST', '/admin/collections', { api_root: 'default', title: 'pulled from B' })).id;
  const peerBAtA = await peerClient(a, 'node-b', 'node-b', keys.b, { baseUrl: b.url });
  await peerClient(a, 'node-t', 'node-t', testPeer.publicKeys(), { read: colA });
  subA = (
    await a.admin('POST', '/admin/sources', {
      peer_id: peerBAtA,
      remote_api_root: 'default',
      remote_collection_id: colB,
      collection_id: colA,
      interval_seconds: INTERVAL_S,
    })
  ).id;
}, 180_000); // three nodes, two of them fresh PGlite ones, starting on a loaded machine

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop(5_000)));
  await schema?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
}, 30_000);

describe('three node processes federated A ← B ← C', () => {
  const green = indicator({ object_marking_refs: [GREEN], name: 'GREEN from C' });
  const amber = indicator({ object_marking_refs: [AMBER], name: 'AMBER from C' });
  const strict = indicator({ object_marking_refs: [AMBER_STRICT], name: 'AMBER+STRICT from C' });
  const red = indicator({ object_marking_refs: [RED], name: 'RED from C' });
  let greenAtA = 0;

  it('brings a GREEN indicator submitted at C to B, then through B to A, within a few pull intervals', async () => {
    const t0 = Date.now();
    await submitAtC([green, amber, strict, red]);
    const atB = await arrives(b, colB, green.id, HOP_DEADLINE_MS);
    greenAtA = await arrives(a, colA, green.id, HOP_DEADLINE_MS);
    console.info(`GREEN: C → B in ${atB - t0} ms, C → A in ${greenAtA - t0} ms (interval ${INTERVAL_MS} ms, tick ${PULL_TICK_MS} ms)`);
    expect(atB - t0).toBeLessThanOrEqual(HOP_DEADLINE_MS);
    expect(greenAtA - t0).toBeLessThanOrEqual(2 * HOP_DEADLINE_MS);
    expect(await held(a, colA, green.id)).toEqual([green]);
    expect(await held(b, colB, green.id)).toEqual([green]);
  });

  it('brings AMBER to B (its origin’s direct peer) but never on to A; AMBER+STRICT and RED never leave C', async () => {
    expect(greenAtA, 'GREEN reached A').toBeGreaterThan(0);
    // AMBER came with GREEN in the same page from C: B holds it already.
    expect(await versions(b, colB, amber.id)).toHaveLength(1);
    // Two more intervals, and a successful pull by A after them: had B relayed AMBER, A has it.
    await sleep(2 * INTERVAL_MS);
    await pulledSince(a, subA, Date.now(), 3 * HOP_DEADLINE_MS);
    expect(await versions(a, colA, amber.id)).toEqual([]);
    for (const o of [strict, red]) {
      expect(await versions(c, colC, o.id), `${o.name} at C`).toHaveLength(1);
      expect(await versions(b, colB, o.id), `${o.name} at B`).toEqual([]);
      expect(await versions(a, colA, o.id), `${o.name} at A`).toEqual([]);
    }
    // The audit agrees: C served AMBER to node-b; B never served AMBER to node-a.
    const recipients = async (node: NodeProcess, col: string, id: string) =>
      ((await node.admin('GET', `/admin/collections/${col}/objects/${id}/recipients`)).deliveries as { recipient: string }[]).map(
        (d) => d.recipient,
      );
    expect(await recipients(c, colC, amber.id)).toContain(`peer:${peerBAtC}`);
    expect(await recipients(b, colB, amber.id)).not.toContain(`peer:${peerAAtB}`);
    // B's subscription pulled from C without failure (nothing refused as a rule breach).
    expect(await subscriptionStatus(b, subB)).toMatchObject({
      consecutive_failures: 0,
      last_error: null,
      quarantined: 0,
      peer_node_id: 'node-c',
    });
  });

  it('keeps, at A, the GREEN object’s origin node-c and C’s signature over it, which verifies with C’s key', async () => {
    // What A serves a peer (a signed pull, as a fourth node would make): the object, unchanged,
    // with its origin record passed on from C through B.
    const url = `${a.url}${objectsBase(colA)}/?match[id]=${green.id}`;
    const { token } = await createRequestProof(testPeer, 'node-a', 'GET', url);
    const res = await fetch(url, { headers: { accept: TAXII, authorization: `${PROOF_SCHEME} ${token}` } });
    expect(res.status).toBe(200);
    const page = (await res.json()) as {
      objects: StixObject[];
      x_vigil_origins?: { id: string; version: string; node: string; signature: string }[];
    };
    expect(page.objects).toEqual([green]);
    const origins = (page.x_vigil_origins ?? []).filter((o) => o.id === green.id);
    expect(origins).toHaveLength(1);
    const origin = origins[0]!;
    expect(origin).toMatchObject({ node: 'node-c', version: green.modified });
    await expect(verifyOrigin(origin.signature, page.objects[0], 'node-c', keys.c)).resolves.toBeUndefined();
    // ... and not as anyone else's, nor over an altered object.
    await expect(verifyOrigin(origin.signature, page.objects[0], 'node-b', keys.b)).rejects.toThrow(OriginSignatureError);
    await expect(verifyOrigin(origin.signature, { ...green, name: 'altered by a relay' }, 'node-c', keys.c)).rejects.toThrow(
      OriginSignatureError,
    );
    // B serves the same signature it received: relays pass it on unchanged.
    const urlB = `${b.url}${objectsBase(colB)}/?match[id]=${green.id}`;
    const proofB = await createRequestProof(loadKeyring(path.join(root, 'a', 'keys')), 'node-b', 'GET', urlB);
    const resB = await fetch(urlB, { headers: { accept: TAXII, authorization: `${PROOF_SCHEME} ${proofB.token}` } });
    expect(resB.status).toBe(200);
    const pageB = (await resB.json()) as typeof page;
    expect(pageB.x_vigil_origins?.find((o) => o.id === green.id)?.signature).toBe(origin.signature);

    // Which peer A received it from (objects.origin): not in any API; on PostgreSQL it is read
    // directly. On PGlite A's only source is its one subscription, to node-b.
    if (pgUrl) {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        const rows = await client.query(
          `SELECT origin, origin_node, origin_signature FROM ${schema!.name}.objects WHERE collection_id = $1 AND id = $2`,
          [colA, green.id],
        );
        expect(rows.rows).toEqual([{ origin: 'node-b', origin_node: 'node-c', origin_signature: origin.signature }]);
      } finally {
        await client.end();
      }
    }
    const subs = (await a.admin('GET', '/admin/sources')).sources as { peer_node_id: string }[];
    expect(subs.map((s) => s.peer_node_id)).toEqual(['node-b']);
  });

  it('survives B going down: a GREEN submitted at C meanwhile reaches A once B is back, once', async () => {
    const stopped = await b.stop();
    expect(stopped, b.output()).toEqual({ code: 0, signal: null });
    const late = indicator({ object_marking_refs: [GREEN], name: 'GREEN from C while B was down' });
    await submitAtC([late]);
    // A notices B is down (a failed pull, recorded) ...
    const down = await until('A recording a failed pull from B', 3 * HOP_DEADLINE_MS, async () => {
      const s = await subscriptionStatus(a, subA);
      return s.consecutive_failures > 0 ? s : undefined;
    });
    expect(down.last_error).toMatch(/unreachable|connection/);
    // ... B comes back on its data and port, catches up with C, and A catches up with B,
    // through A's backoff (5 s, then 10 s, times 0.5 to 1).
    const restarted = Date.now();
    await b.start();
    const atB = await arrives(b, colB, late.id, 3 * HOP_DEADLINE_MS);
    const atA = await arrives(a, colA, late.id, 30_000);
    console.info(`after B's restart: at B in ${atB - restarted} ms, at A in ${atA - restarted} ms`);
    for (const o of [late, green]) {
      expect(await versions(a, colA, o.id), `${o.name} versions at A`).toEqual([o.modified]);
      expect(await versions(b, colB, o.id), `${o.name} versions at B`).toEqual([o.modified]);
      expect(await held(a, colA, o.id)).toEqual([o]);
    }
    const status = await until('A’s subscription healthy again', HOP_DEADLINE_MS, async () => {
      const s = await subscriptionStatus(a, subA);
      return s.consecutive_failures === 0 ? s : undefined;
    });
    expect(status).toMatchObject({ last_error: null, quarantined: 0 });
    // Still nothing AMBER, AMBER+STRICT or RED at A after the catch-up.
    for (const o of [amber, strict, red]) expect(await versions(a, colA, o.id), `${o.name} at A`).toEqual([]);
  }, 60_000);
});
